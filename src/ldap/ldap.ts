/**
 * The `Ldap` adapter: People and Group entries over one shared, bound ldapts
 * connection. Every operation has a deadline; every value that goes into a DN
 * or a filter is escaped; every server answer leaves as a PermanentError or
 * TransientError (see ./classify).
 */
import { Attribute, Change, type Client, type Entry, type SearchOptions, type SearchResult } from 'ldapts';
import { hasCode, PermanentError, withTimeout } from '../core/errors';
import type { GroupEntry, GroupMemberChange, NewGroup, SudoRole } from '../core/model/group';
import { NAME_RE } from '../core/model/names';
import { MODIFIABLE_USER_ATTRIBUTES, type NewUser, type UserChange, type UserEntry } from '../core/model/user';
import type { Ldap } from '../core/ports';
import { classifyLdapError } from './classify';
import { LdapConnection } from './connection';
import {
  GROUP_ATTRIBUTES,
  SUDO_ATTRIBUTES,
  USER_ATTRIBUTES,
  groupAttributes,
  groupDn,
  sudoRoleAttributes,
  sudoRoleDn,
  toSudoRole,
  toGroupEntry,
  toUserEntry,
  userAttributes,
  userDn,
  values,
} from './entries';
import { escapeFilterValue, normalizeDn } from './escape';
import { TERM_RE } from '../core/rules/terms';

export interface LdapOptions {
  /** `ldap://host:port`, `ldaps://…`, or `ldapi://<url-encoded socket path>`. */
  url: string;
  bindDN: string;
  bindPassword: string;
  /** e.g. `ou=People,dc=csclub,dc=internal` */
  usersBase: string;
  /** e.g. `ou=Group,dc=csclub,dc=internal` */
  groupsBase: string;
  /** e.g. `ou=SUDOers,dc=csclub,dc=internal` */
  sudoBase: string;
  /** Deadline of each operation, connecting and binding included. */
  timeoutMs: number;
}

/**
 * Names this adapter creates and deletes entries for: the one name rule
 * (docs/directory.md#names). Escaping keeps any value from changing a DN's or
 * a filter's structure, but slapd compares `uid` and `cn` case-insensitively
 * with insignificant spaces: `uid=Alice\ ` *is* `uid=alice` to it, so deleting
 * "Alice " would delete alice. Writes and deletes therefore take canonical names
 * only, and reads return an entry only when its name is exactly the one asked for.
 */
const NAME = NAME_RE;

function checkName(kind: string, name: string): void {
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw new PermanentError('LDAP_INVALID_DATA', `invalid ${kind} ${JSON.stringify(String(name)).slice(0, 80)}`);
  }
}

function checkId(kind: string, n: number): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new PermanentError('LDAP_INVALID_DATA', `invalid ${kind} ${n}`);
}

const MODIFIABLE: ReadonlySet<string> = new Set(MODIFIABLE_USER_ATTRIBUTES);

/**
 * "no such attribute" (16) or "attribute or value exists" (20) on an ensure
 * that sent only the missing (or present) values: another writer changed the
 * entry between our read and our write.
 */
const racedWithWriter = (e: unknown): boolean => hasCode(e, 'LDAP_INVALID_DATA') && (e.serverCode === 16 || e.serverCode === 20);

function checkChange(c: UserChange): void {
  if (!c || !['replace', 'add', 'delete'].includes(c.op)) throw new PermanentError('LDAP_INVALID_DATA', `invalid change operation ${String(c?.op)}`);
  if (!MODIFIABLE.has(c.attr)) throw new PermanentError('LDAP_INVALID_DATA', `attribute ${String(c.attr).slice(0, 40)} may not be changed`);
  if (!Array.isArray(c.values) || c.values.some((v) => typeof v !== 'string' || v === '' || v.includes('\0'))) {
    throw new PermanentError('LDAP_INVALID_DATA', `invalid values for ${c.attr}`);
  }
  if (c.op !== 'replace' && c.values.length === 0) throw new PermanentError('LDAP_INVALID_DATA', `${c.op} of ${c.attr} needs values`);
}

export function createLdap(opts: LdapOptions): Ldap {
  const conn = new LdapConnection(opts);
  const { usersBase, groupsBase, sudoBase } = opts;

  /** Runs `work` on the shared client with the deadline, classifying what it throws. */
  async function op<T>(what: string, work: (client: Client) => Promise<T>): Promise<T> {
    let client: Client | undefined;
    try {
      return await withTimeout(what, opts.timeoutMs, async () => {
        client = await conn.get();
        return await work(client);
      });
    } catch (e) {
      const err = classifyLdapError(e, what);
      // A timeout or lost connection may leave the socket half-dead: start afresh next time.
      if (!err.permanent && client) conn.discard(client);
      throw err;
    }
  }

  /**
   * A paged search. slapd runs one paged search per connection at a time and
   * refuses another one meanwhile ("paged results cookie is invalid", or
   * "unwilling to perform"), and every operation here shares one connection:
   * paged searches take turns. Each turn has its own deadline, from its start.
   */
  let pagedTurn: Promise<unknown> = Promise.resolve();
  function pagedSearch(base: string, options: SearchOptions & { paged: NonNullable<SearchOptions['paged']> }): Promise<SearchResult> {
    const turn = pagedTurn.then(() => op(`search ${base} ${options.filter}`, (c) => c.search(base, options)));
    pagedTurn = turn.catch(() => undefined);
    return turn;
  }

  /** Deletes `dn`; false if it was not there. */
  async function del(dn: string): Promise<boolean> {
    try {
      await op(`delete ${dn}`, (c) => c.del(dn));
      return true;
    } catch (e) {
      if (hasCode(e, 'NOT_FOUND')) return false;
      throw e;
    }
  }

  async function exists(base: string, filter: string): Promise<boolean> {
    const { searchEntries } = await op(`search ${base} ${filter}`, (c) =>
      c.search(base, { scope: 'one', filter, attributes: ['1.1'], sizeLimit: 1 }),
    );
    return searchEntries.length > 0;
  }

  /** The raw entry of exactly `uid`, or null. */
  async function readUser(uid: string): Promise<Entry | null> {
    const filter = `(&(objectClass=posixAccount)(uid=${escapeFilterValue(uid)}))`;
    const { searchEntries } = await op(`search ${usersBase} ${filter}`, (c) =>
      c.search(usersBase, { scope: 'one', filter, attributes: USER_ATTRIBUTES }),
    );
    return searchEntries.find((e) => values(e, 'uid').includes(uid)) ?? null;
  }

  /** The raw entry of exactly group `cn`, or null. */
  async function readGroup(cn: string): Promise<Entry | null> {
    const filter = `(&(objectClass=posixGroup)(cn=${escapeFilterValue(cn)}))`;
    const { searchEntries } = await op(`search ${groupsBase} ${filter}`, (c) =>
      c.search(groupsBase, { scope: 'one', filter, attributes: GROUP_ATTRIBUTES }),
    );
    return searchEntries.find((e) => values(e, 'cn').includes(cn)) ?? null;
  }

  async function searchUsers(filter: string): Promise<UserEntry[]> {
    const { searchEntries } = await pagedSearch(usersBase, { scope: 'one', filter, attributes: USER_ATTRIBUTES, paged: { pageSize: 500 } });
    return searchEntries.map(toUserEntry).filter((u) => NAME.test(u.uid));
  }

  return {
    async getUser(uid: string): Promise<UserEntry | null> {
      const filter = `(&(objectClass=posixAccount)(uid=${escapeFilterValue(uid)}))`;
      const { searchEntries } = await op(`search ${usersBase} ${filter}`, (c) =>
        c.search(usersBase, { scope: 'one', filter, attributes: USER_ATTRIBUTES }),
      );
      const exact = searchEntries.find((e) => values(e, 'uid').includes(uid));
      return exact ? toUserEntry(exact) : null;
    },

    async addUser(user: NewUser): Promise<void> {
      checkName('uid', user.uid);
      checkId('uidNumber', user.uidNumber);
      checkId('gidNumber', user.gidNumber);
      if (user.kind !== 'member' && user.kind !== 'club') {
        throw new PermanentError('LDAP_INVALID_DATA', `invalid kind ${String(user.kind)}`);
      }
      const dn = userDn(user.uid, usersBase);
      await op(`add ${dn}`, (c) => c.add(dn, userAttributes(user)));
    },

    async deleteUser(uid: string): Promise<boolean> {
      checkName('uid', uid);
      return del(userDn(uid, usersBase));
    },

    async modifyUser(uid: string, changes: UserChange[]): Promise<void> {
      checkName('uid', uid);
      if (!Array.isArray(changes) || changes.length === 0) throw new PermanentError('LDAP_INVALID_DATA', 'no changes');
      changes.forEach(checkChange);
      const dn = userDn(uid, usersBase);
      // add/delete are ensures: only the values missing (or present) are sent, so
      // "attribute or value exists" / "no such attribute" mean a concurrent writer
      // changed the entry between our read and write; one fresh read settles it.
      for (let round = 0; ; round++) {
        const current = await readUser(uid);
        if (!current) throw new PermanentError('NOT_FOUND', `modify ${dn}: no such object`);
        const ldapChanges: Change[] = [];
        for (const c of changes) {
          const held = new Set(values(current, c.attr));
          const wanted = [...new Set(c.values)];
          const send = c.op === 'add' ? wanted.filter((v) => !held.has(v)) : c.op === 'delete' ? wanted.filter((v) => held.has(v)) : wanted;
          if (c.op === 'replace' && send.length === 0 && held.size === 0) continue;
          if (c.op !== 'replace' && send.length === 0) continue;
          ldapChanges.push(new Change({ operation: c.op, modification: new Attribute({ type: c.attr, values: send }) }));
        }
        if (ldapChanges.length === 0) return;
        try {
          await op(`modify ${dn}`, (client) => client.modify(dn, ldapChanges));
          return;
        } catch (e) {
          if (!racedWithWriter(e) || round > 0) throw e;
        }
      }
    },

    async listMembers(opts: { term?: string } = {}): Promise<UserEntry[]> {
      let filter = '(&(objectClass=posixAccount)(objectClass=member))';
      if (opts.term !== undefined) {
        if (typeof opts.term !== 'string' || !TERM_RE.test(opts.term)) throw new PermanentError('LDAP_INVALID_DATA', 'invalid term');
        const t = escapeFilterValue(opts.term);
        filter = `(&(objectClass=posixAccount)(objectClass=member)(|(term=${t})(nonMemberTerm=${t})))`;
      }
      const { searchEntries } = await pagedSearch(usersBase, { scope: 'one', filter, attributes: USER_ATTRIBUTES, paged: { pageSize: 500 } });
      // Only canonical names: anything else was not made by ceod and cannot be addressed by it.
      return searchEntries.map(toUserEntry).filter((u) => NAME.test(u.uid));
    },

    async getGroup(cn: string): Promise<GroupEntry | null> {
      const exact = await readGroup(cn);
      return exact ? toGroupEntry(exact, usersBase) : null;
    },

    async addGroup(group: NewGroup): Promise<void> {
      checkName('group name', group.cn);
      checkId('gidNumber', group.gidNumber);
      for (const m of group.members ?? []) checkName('member uid', m);
      const dn = groupDn(group.cn, groupsBase);
      await op(`add ${dn}`, (c) => c.add(dn, groupAttributes(group, usersBase)));
    },

    async deleteGroup(cn: string): Promise<boolean> {
      checkName('group name', cn);
      return del(groupDn(cn, groupsBase));
    },

    async changeGroupMembers(cn: string, change: GroupMemberChange): Promise<void> {
      checkName('group name', cn);
      if (!change || !['add', 'delete', 'replace'].includes(change.op) || !Array.isArray(change.uids)) {
        throw new PermanentError('LDAP_INVALID_DATA', 'invalid group member change');
      }
      for (const m of change.uids) checkName('member uid', m);
      const dn = groupDn(cn, groupsBase);
      // As modifyUser: only the values missing (or present) are sent, and a
      // concurrent writer between our read and write costs one fresh read.
      for (let round = 0; ; round++) {
        const current = await readGroup(cn);
        if (!current) throw new PermanentError('NOT_FOUND', `modify ${dn}: no such group`);
        const held = new Map(values(current, 'uniqueMember').map((d) => [normalizeDn(d), d]));
        const wanted = new Map(change.uids.map((u) => [normalizeDn(userDn(u, usersBase)), userDn(u, usersBase)]));
        let ldapChange: Change | null = null;
        if (change.op === 'replace') {
          const same = held.size === wanted.size && [...wanted.keys()].every((k) => held.has(k));
          if (!same) ldapChange = new Change({ operation: 'replace', modification: new Attribute({ type: 'uniqueMember', values: [...wanted.values()] }) });
        } else {
          // Deletes name the values as the entry holds them, in case they are spelt differently.
          const send = change.op === 'add' ? [...wanted].filter(([k]) => !held.has(k)).map(([, d]) => d) : [...wanted.keys()].filter((k) => held.has(k)).map((k) => held.get(k)!);
          if (send.length) ldapChange = new Change({ operation: change.op, modification: new Attribute({ type: 'uniqueMember', values: send }) });
        }
        if (!ldapChange) return;
        try {
          await op(`modify ${dn}`, (client) => client.modify(dn, [ldapChange]));
          return;
        } catch (e) {
          if (!racedWithWriter(e) || round > 0) throw e;
        }
      }
    },

    async searchGroups(text: string): Promise<GroupEntry[]> {
      if (typeof text !== 'string' || text === '' || text.length > 64) throw new PermanentError('LDAP_INVALID_DATA', 'invalid search text');
      const v = escapeFilterValue(text);
      const filter = `(&(objectClass=posixGroup)(|(cn=*${v}*)(description=*${v}*)))`;
      // Every match, paged: the caller ranks them, and a club has at most a few thousand groups.
      const { searchEntries } = await pagedSearch(groupsBase, { scope: 'one', filter, attributes: GROUP_ATTRIBUTES, paged: { pageSize: 500 } });
      return searchEntries.map((e) => toGroupEntry(e, usersBase)).filter((g) => NAME.test(g.cn));
    },

    async getUsers(uids: string[]): Promise<UserEntry[]> {
      const wanted = [...new Set(uids)].filter((u) => typeof u === 'string' && NAME.test(u));
      const found: UserEntry[] = [];
      // A few hundred names per filter keeps each request small.
      for (let i = 0; i < wanted.length; i += 200) {
        const chunk = wanted.slice(i, i + 200);
        const filter = `(&(objectClass=posixAccount)(|${chunk.map((u) => `(uid=${escapeFilterValue(u)})`).join('')}))`;
        const names = new Set(chunk);
        found.push(...(await searchUsers(filter)).filter((u) => names.has(u.uid)));
      }
      return found;
    },

    positionHolders: () => searchUsers('(&(objectClass=posixAccount)(position=*))'),

    async getSudoRole(group: string): Promise<SudoRole | null> {
      checkName('group name', group);
      const filter = `(&(objectClass=sudoRole)(cn=${escapeFilterValue(`%${group}`)}))`;
      const { searchEntries } = await op(`search ${sudoBase} ${filter}`, (c) =>
        c.search(sudoBase, { scope: 'one', filter, attributes: SUDO_ATTRIBUTES }),
      );
      const exact = searchEntries.find((e) => values(e, 'cn').includes(`%${group}`));
      return exact ? toSudoRole(exact) : null;
    },

    async addSudoRole(role: SudoRole): Promise<void> {
      checkName('group name', role.group);
      checkName('run-as user', role.runAsUser);
      for (const v of [...role.hosts, ...role.commands, ...role.options]) {
        if (typeof v !== 'string' || v === '' || /[\0\n]/.test(v)) throw new PermanentError('LDAP_INVALID_DATA', 'invalid sudo host or command');
      }
      const dn = sudoRoleDn(role.group, sudoBase);
      await op(`add ${dn}`, (c) => c.add(dn, sudoRoleAttributes(role)));
    },

    async deleteSudoRole(group: string): Promise<boolean> {
      checkName('group name', group);
      return del(sudoRoleDn(group, sudoBase));
    },

    async groupsOf(uid: string): Promise<string[]> {
      // DN matching ignores case and spaces: only a canonical uid names exactly one user.
      if (typeof uid !== 'string' || !NAME.test(uid)) return [];
      const filter = `(uniqueMember=${escapeFilterValue(userDn(uid, usersBase))})`;
      const { searchEntries } = await op(`search ${groupsBase} ${filter}`, (c) =>
        c.search(groupsBase, { scope: 'one', filter, attributes: ['cn'] }),
      );
      return searchEntries.map((e) => values(e, 'cn')[0]).filter((cn): cn is string => cn !== undefined);
    },

    async usedIds(min: number, max: number): Promise<Set<number>> {
      checkId('min id', min);
      checkId('max id', max);
      const used = new Set<number>();
      const add = (v: string): void => {
        const n = Number(v);
        if (Number.isInteger(n) && n >= min && n <= max) used.add(n);
      };
      // Integer ordering (integerOrderingMatch) makes these range filters exact.
      // A user's own gidNumber counts too: "free" means used by no uidNumber and no gidNumber.
      const range = (attr: string): string => `(&(${attr}>=${min})(${attr}<=${max}))`;
      const userFilter = `(|${range('uidNumber')}${range('gidNumber')})`;
      const groupFilter = range('gidNumber');
      // One after the other: slapd runs one paged search per connection at a time (pagedSearch).
      const users = await pagedSearch(usersBase, { scope: 'one', filter: userFilter, attributes: ['uidNumber', 'gidNumber'], paged: { pageSize: 500 } });
      const groups = await pagedSearch(groupsBase, { scope: 'one', filter: groupFilter, attributes: ['gidNumber'], paged: { pageSize: 500 } });
      for (const e of users.searchEntries) for (const v of [...values(e, 'uidNumber'), ...values(e, 'gidNumber')]) add(v);
      for (const e of groups.searchEntries) for (const v of values(e, 'gidNumber')) add(v);
      return used;
    },

    async nameTaken(name: string): Promise<boolean> {
      const v = escapeFilterValue(name);
      const [user, group] = await Promise.all([exists(usersBase, `(uid=${v})`), exists(groupsBase, `(cn=${v})`)]);
      return user || group;
    },

    async ping(): Promise<void> {
      await op(`read ${usersBase}`, (c) => c.search(usersBase, { scope: 'base', attributes: ['1.1'] }));
    },

    close: () => conn.close(),
  };
}
