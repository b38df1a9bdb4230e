/**
 * The shape of People and Group entries: building the attributes to add, and
 * reading search results back into `UserEntry` / `GroupEntry`.
 */
import type { Entry } from 'ldapts';
import type { GroupEntry, NewGroup, SudoRole } from '../core/model/group';
import type { NewUser, UserEntry } from '../core/model/user';
import { childValue, escapeDnValue } from './escape';

export const USER_ATTRIBUTES = [
  'objectClass',
  'uid',
  'cn',
  'givenName',
  'sn',
  'uidNumber',
  'gidNumber',
  'homeDirectory',
  'loginShell',
  'program',
  'term',
  'nonMemberTerm',
  'position',
  'mailLocalAddress',
  'previousLoginShell',
  'impliedMembership',
];

export const GROUP_ATTRIBUTES = ['objectClass', 'cn', 'gidNumber', 'description', 'uniqueMember'];

export const SUDO_ATTRIBUTES = ['objectClass', 'cn', 'sudoUser', 'sudoRunAsUser', 'sudoHost', 'sudoCommand', 'sudoOption'];

/** `cn=%<group>,<sudoBase>`: sudo's own notation for "members of group". */
export function sudoRoleDn(group: string, sudoBase: string): string {
  return `cn=${escapeDnValue(`%${group}`)},${sudoBase}`;
}

export function sudoRoleAttributes(r: SudoRole): Attrs {
  const attrs: Attrs = { objectClass: ['top', 'sudoRole'] };
  put(attrs, 'cn', `%${r.group}`);
  put(attrs, 'sudoUser', `%${r.group}`);
  put(attrs, 'sudoRunAsUser', r.runAsUser);
  put(attrs, 'sudoHost', r.hosts);
  put(attrs, 'sudoCommand', r.commands);
  put(attrs, 'sudoOption', r.options);
  return attrs;
}

/** A sudoRole entry for a group (`sudoUser: %<group>`), or null if it is some other kind of role. */
export function toSudoRole(entry: Entry): SudoRole | null {
  const user = values(entry, 'sudoUser').find((u) => u.startsWith('%'));
  if (!user) return null;
  return {
    dn: entry.dn,
    group: user.slice(1),
    runAsUser: values(entry, 'sudoRunAsUser')[0] ?? '',
    hosts: values(entry, 'sudoHost'),
    commands: values(entry, 'sudoCommand'),
    options: values(entry, 'sudoOption'),
  };
}

export function userDn(uid: string, usersBase: string): string {
  return `uid=${escapeDnValue(uid)},${usersBase}`;
}

export function groupDn(cn: string, groupsBase: string): string {
  return `cn=${escapeDnValue(cn)},${groupsBase}`;
}

type Attrs = Record<string, string | string[]>;

/** Drops absent and empty values: LDAP refuses an attribute without values, and Directory Strings cannot be empty. */
function put(attrs: Attrs, name: string, value: string | number | string[] | undefined): void {
  if (value === undefined) return;
  if (Array.isArray(value)) {
    const values = [...new Set(value.filter((v) => v !== ''))];
    if (values.length) attrs[name] = values;
  } else if (value !== '') {
    attrs[name] = String(value);
  }
}

/** The attributes of a new People entry (`account` + `posixAccount` + `shadowAccount` + `member` or `club`). */
export function userAttributes(u: NewUser): Attrs {
  const attrs: Attrs = { objectClass: ['top', 'account', 'posixAccount', 'shadowAccount', u.kind] };
  put(attrs, 'uid', u.uid);
  put(attrs, 'cn', u.cn);
  put(attrs, 'givenName', u.givenName);
  put(attrs, 'sn', u.sn);
  put(attrs, 'uidNumber', u.uidNumber);
  put(attrs, 'gidNumber', u.gidNumber);
  put(attrs, 'homeDirectory', u.homeDirectory);
  put(attrs, 'loginShell', u.loginShell);
  put(attrs, 'program', u.program);
  put(attrs, 'term', u.terms);
  put(attrs, 'nonMemberTerm', u.nonMemberTerms);
  return attrs;
}

/** The attributes of a new group entry (`posixGroup` + `group`, members as `uniqueMember` DNs). */
export function groupAttributes(g: NewGroup, usersBase: string): Attrs {
  const attrs: Attrs = { objectClass: ['top', 'posixGroup', 'group'] };
  put(attrs, 'cn', g.cn);
  put(attrs, 'gidNumber', g.gidNumber);
  put(attrs, 'description', g.description);
  put(attrs, 'uniqueMember', (g.members ?? []).map((uid) => userDn(uid, usersBase)));
  return attrs;
}

/**
 * All values of an attribute as strings, whatever ldapts returned (a string for
 * one value, an array for several, Buffers for binary), matched case-insensitively.
 */
export function values(entry: Entry, name: string): string[] {
  const lower = name.toLowerCase();
  for (const [key, v] of Object.entries(entry)) {
    if (key.toLowerCase() !== lower || key === 'dn') continue;
    const list = Array.isArray(v) ? v : [v];
    return list.map((x) => (Buffer.isBuffer(x) ? x.toString('utf8') : String(x)));
  }
  return [];
}

function first(entry: Entry, name: string): string | undefined {
  return values(entry, name)[0];
}

function int(entry: Entry, name: string): number {
  const v = first(entry, name);
  const n = v === undefined ? NaN : Number(v);
  return Number.isInteger(n) ? n : -1;
}

export function toUserEntry(entry: Entry): UserEntry {
  const u: UserEntry = {
    dn: entry.dn,
    uid: first(entry, 'uid') ?? '',
    cn: first(entry, 'cn') ?? '',
    uidNumber: int(entry, 'uidNumber'),
    gidNumber: int(entry, 'gidNumber'),
    homeDirectory: first(entry, 'homeDirectory') ?? '',
    loginShell: first(entry, 'loginShell') ?? '',
    terms: values(entry, 'term'),
    nonMemberTerms: values(entry, 'nonMemberTerm'),
    positions: values(entry, 'position'),
    mailLocalAddresses: values(entry, 'mailLocalAddress'),
    objectClasses: values(entry, 'objectClass'),
    impliedMemberships: values(entry, 'impliedMembership'),
  };
  const givenName = first(entry, 'givenName');
  const sn = first(entry, 'sn');
  const program = first(entry, 'program');
  if (givenName !== undefined) u.givenName = givenName;
  if (sn !== undefined) u.sn = sn;
  if (program !== undefined) u.program = program;
  const previousLoginShell = first(entry, 'previousLoginShell');
  if (previousLoginShell !== undefined) u.previousLoginShell = previousLoginShell;
  return u;
}

export function toGroupEntry(entry: Entry, usersBase: string): GroupEntry {
  const g: GroupEntry = {
    dn: entry.dn,
    cn: first(entry, 'cn') ?? '',
    gidNumber: int(entry, 'gidNumber'),
    members: values(entry, 'uniqueMember')
      .map((dn) => childValue(dn, 'uid', usersBase))
      .filter((uid): uid is string => uid !== null),
  };
  const description = first(entry, 'description');
  if (description !== undefined) g.description = description;
  return g;
}
