/**
 * The side-effect interfaces that steps use. Each adapter is built by a factory
 * from its config (see `src/ldap`, `src/krb5`, `src/mailman`, `src/mail`,
 * `src/homedirs`) and translates its server's answers into `PermanentError` /
 * `TransientError` with a stable code. Unit tests pass fakes; integration tests
 * pass the real thing.
 */

/** A People entry as the directory holds it. */
export interface UserEntry {
  dn: string;
  uid: string;
  cn: string;
  givenName?: string;
  sn?: string;
  uidNumber: number;
  gidNumber: number;
  homeDirectory: string;
  loginShell: string;
  program?: string;
  terms: string[];
  nonMemberTerms: string[];
  positions: string[];
  mailLocalAddresses: string[];
  objectClasses: string[];
  /** The shell before expiry (`previousLoginShell`), restored on renewal. */
  previousLoginShell?: string;
}

/** Attributes of a People entry that jobs change after creation. */
export const MODIFIABLE_USER_ATTRIBUTES = [
  'loginShell',
  'previousLoginShell',
  'term',
  'nonMemberTerm',
  'position',
  'program',
  'cn',
  'givenName',
  'sn',
  'mailLocalAddress',
] as const;
export type ModifiableUserAttribute = (typeof MODIFIABLE_USER_ATTRIBUTES)[number];

/**
 * One change to a People entry. `replace` with no values removes the attribute;
 * `add` of a value already there and `delete` of one absent are no error
 * (steps are ensures).
 */
export interface UserChange {
  op: 'replace' | 'add' | 'delete';
  attr: ModifiableUserAttribute;
  values: string[];
}

/** What creating a People entry needs. `kind` picks the `member` or `club` class. */
export interface NewUser {
  uid: string;
  cn: string;
  givenName?: string;
  sn?: string;
  uidNumber: number;
  gidNumber: number;
  homeDirectory: string;
  loginShell: string;
  program?: string;
  terms?: string[];
  nonMemberTerms?: string[];
  kind: 'member' | 'club';
}

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

/**
 * A club's sudo role (`cn=%<group>,ou=SUDOers,…`): members of `group` may run
 * `commands` as `runAsUser` on `hosts` (SPEC §2).
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

/** One change to a group's members: `replace` makes them exactly `uids`. */
export interface GroupMemberChange {
  op: 'add' | 'delete' | 'replace';
  uids: string[];
}

export interface Ldap {
  getUser(uid: string): Promise<UserEntry | null>;
  /** Throws PermanentError LDAP_ALREADY_EXISTS if the entry exists. */
  addUser(user: NewUser): Promise<void>;
  /** Returns false if there was nothing to delete. */
  deleteUser(uid: string): Promise<boolean>;
  /** Applies `changes` in one atomic modify. No such user: PermanentError LDAP_NO_SUCH_OBJECT. */
  modifyUser(uid: string, changes: UserChange[]): Promise<void>;
  /** Every People entry with the `member` class, optionally only those holding `term` (as a term or non-member term). */
  listMembers(opts?: { term?: string }): Promise<UserEntry[]>;
  getGroup(cn: string): Promise<GroupEntry | null>;
  /** Throws PermanentError LDAP_ALREADY_EXISTS if the entry exists. */
  addGroup(group: NewGroup): Promise<void>;
  deleteGroup(cn: string): Promise<boolean>;
  /**
   * Adds, removes or replaces `uniqueMember`s. Adding a member already there and
   * removing one absent are no error. No such group: PermanentError LDAP_NO_SUCH_OBJECT.
   */
  changeGroupMembers(cn: string, change: GroupMemberChange): Promise<void>;
  /** Every group whose cn or description holds `text` (unordered; the caller ranks). */
  searchGroups(text: string): Promise<GroupEntry[]>;
  /** The People entries of exactly these uids (those that exist), in one search. */
  getUsers(uids: string[]): Promise<UserEntry[]>;
  /** Every People entry holding at least one `position`. */
  positionHolders(): Promise<UserEntry[]>;
  getSudoRole(group: string): Promise<SudoRole | null>;
  /** Throws PermanentError LDAP_ALREADY_EXISTS if the entry exists. */
  addSudoRole(role: SudoRole): Promise<void>;
  deleteSudoRole(group: string): Promise<boolean>;
  /** cn of every group listing the user as `uniqueMember`. */
  groupsOf(uid: string): Promise<string[]>;
  /** Every uidNumber and gidNumber in [min, max], from users and groups alike. */
  usedIds(min: number, max: number): Promise<Set<number>>;
  /** Whether any user or group has this name. */
  nameTaken(name: string): Promise<boolean>;
  /** Cheap round trip, for start-up and health checks. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface PrincipalInfo {
  name: string;
  /** e.g. `REQUIRES_PWCHANGE`, from kadmin's "Attributes:" line. */
  attributes: string[];
}

export interface Kadmin {
  /** Throws PermanentError KRB5_PRINCIPAL_EXISTS if it exists. The password goes over stdin. */
  addPrincipal(name: string, password: string, opts: { needChange: boolean }): Promise<void>;
  /** Throws PermanentError KRB5_NO_SUCH_PRINCIPAL if it does not exist. */
  setPassword(name: string, password: string, opts: { needChange: boolean }): Promise<void>;
  getPrincipal(name: string): Promise<PrincipalInfo | null>;
  /** Returns false if there was nothing to delete. */
  deletePrincipal(name: string): Promise<boolean>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface HomeDirs {
  /**
   * Ensures `<root>/<name>` exists, copied from `skel` if given, owned by uid/gid.
   * Already there and owned by `uidNumber`: success. There and owned by someone
   * else: PermanentError HOME_EXISTS.
   */
  create(root: string, name: string, uidNumber: number, gidNumber: number, skel?: string): Promise<void>;
  /**
   * Removes `<root>/<name>` if present. Returns false if there was nothing.
   * With `owner`, a directory owned by another uid is left alone: PermanentError HOME_NOT_OURS.
   */
  remove(root: string, name: string, opts?: { owner?: number }): Promise<boolean>;
  /**
   * Writes `~/.forward` atomically (temp file + rename), mode 0644, owned by the
   * user, never following a symlink; an empty list removes the file.
   */
  writeForward(root: string, name: string, uidNumber: number, gidNumber: number, addresses: string[]): Promise<void>;
  readForward(root: string, name: string): Promise<string[] | null>;
  ping(root: string): Promise<void>;
}

export interface Mailman {
  /** Already subscribed: success. Unknown list: PermanentError MAILMAN_NO_SUCH_LIST. */
  subscribe(list: string, address: string, displayName?: string): Promise<void>;
  /** Not subscribed: returns false. */
  unsubscribe(list: string, address: string): Promise<boolean>;
  members(list: string): Promise<string[]>;
  /** Lists (short names) this address is subscribed to. */
  subscriptions(address: string): Promise<string[]>;
  /** Whether the list exists. */
  listExists(list: string): Promise<boolean>;
  ping(): Promise<void>;
}

export interface MailMessage {
  to: string | string[];
  subject: string;
  text: string;
  /** Message-ID to send with, so a resent mail can be recognised as the same one. */
  messageId?: string;
}

export interface Mailer {
  send(msg: MailMessage): Promise<void>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** The adapters a worker has; only those of its roles are built, the rest throw on use. */
export interface Adapters {
  readonly ldap: Ldap;
  readonly kadmin: Kadmin;
  readonly homeDirs: HomeDirs;
  readonly mailman: Mailman;
  readonly mailer: Mailer;
}
