/** Group entries (docs/directory.md#groups) and clubs' sudo roles (docs/directory.md#sudo-roles). */

export interface GroupEntry {
  dn: string;
  cn: string;
  gidNumber: number;
  description?: string;
  /** uids of the members (from `uniqueMember` DNs under the People base). */
  members: string[];
}

export interface NewGroup {
  cn: string;
  gidNumber: number;
  description?: string;
  members?: string[];
}

/** One change to a group's members: `replace` makes them exactly `uids`. */
export interface GroupMemberChange {
  op: 'add' | 'delete' | 'replace';
  uids: string[];
}

/**
 * A club's sudo role (`cn=%<group>,ou=SUDOers,…`): members of `group` may run
 * `commands` as `runAsUser` on `hosts`.
 */
export interface SudoRole {
  dn?: string;
  /** The group whose members the role is for; the entry's cn is `%<group>`. */
  group: string;
  runAsUser: string;
  hosts: string[];
  commands: string[];
  /** e.g. `!authenticate`; empty for none. */
  options: string[];
}
