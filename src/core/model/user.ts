/** People entries (docs/directory.md#people): members, club reps and club accounts. */

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
  /**
   * Group memberships ceod added because of another group (`impliedMembership`,
   * `<group>:<via>`, e.g. `office:syscom`): leaving `via` takes away only these
   * (docs/jobs.md#remove_group_member).
   */
  impliedMemberships: string[];
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
  'impliedMembership',
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

/** Whether the entry is a club's account (auxiliary class `club`), not a person's. */
export function isClubAccount(u: Pick<UserEntry, 'objectClasses'>): boolean {
  return u.objectClasses.some((c) => c.toLowerCase() === 'club');
}

/**
 * `given_name` and `sn` from a full name, when a request leaves them out (as
 * the original client does): sn is the last word, the given name the words
 * before it; a one-word name is its own sn, with no given name.
 */
export function namesFromCn(cn: string): { givenName?: string; sn: string } {
  const words = cn.trim().split(/\s+/);
  const sn = words.pop()!;
  return words.length > 0 ? { givenName: words.join(' '), sn } : { sn };
}
