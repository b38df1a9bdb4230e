/**
 * The LDAP adapter against the test stack's slapd. Every entry this file makes
 * has a random suffix and is deleted afterwards.
 */
import { readdirSync, readlinkSync, readFileSync } from 'node:fs';
import { Client } from 'ldapts';
import { createLdap, normalizeDn, type LdapOptions } from '../../src/ldap';
import type { Ldap } from '../../src/core/ports';
import type { NewUser } from '../../src/core/model/user';
import { startService, stopService, testStack } from '../helpers/stack';
import { codeOf } from '../helpers/rejection';

const info = testStack();
const suffix = Array.from({ length: 6 }, () => String.fromCharCode(97 + Math.floor(Math.random() * 26))).join('');
const name = (s: string) => `t${suffix}${s}`;
// A random block of ids far above the seeded ones, so parallel files do not meet.
const idBase = 200000 + Math.floor(Math.random() * 700) * 1000;

const opts: LdapOptions = {
  url: info.ldap.url,
  bindDN: info.ldap.adminDn,
  bindPassword: info.ldap.adminPassword,
  usersBase: info.ldap.usersBase,
  groupsBase: info.ldap.groupsBase,
  sudoBase: info.ldap.sudoBase,
  timeoutMs: 5000,
};

const user = (uid: string, n: number, extra: Partial<NewUser> = {}): NewUser => ({
  uid,
  cn: `Test ${uid}`,
  givenName: 'Test',
  sn: uid,
  uidNumber: n,
  gidNumber: n,
  homeDirectory: `/users/${uid}`,
  loginShell: '/bin/bash',
  program: 'MATH/Computer Science',
  terms: ['w2026'],
  kind: 'member',
  ...extra,
});


/** TCP connections this process holds to `port` on 127.0.0.1, from /proc (Linux). */
function connectionsTo(port: number): number {
  const inodes = new Set<string>();
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`));
      if (m) inodes.add(m[1]!);
    } catch {
      // fd closed meanwhile
    }
  }
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  return readFileSync('/proc/net/tcp', 'utf8')
    .split('\n')
    .slice(1)
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length > 9 && f[2] === `0100007F:${hexPort}` && f[3] === '01' && inodes.has(f[9]!)).length;
}

let ldap: Ldap;
const madeUsers = new Set<string>();
const madeGroups = new Set<string>();
/** A raw client for what the adapter refuses to do (entries with odd names), and for cleanup. */
let raw: Client;

beforeAll(async () => {
  ldap = createLdap(opts);
  raw = new Client({ url: info.ldap.url, timeout: 5000 });
  await raw.bind(info.ldap.adminDn, info.ldap.adminPassword);
});

afterAll(async () => {
  for (const uid of madeUsers) await ldap.deleteUser(uid).catch(() => undefined);
  for (const cn of madeGroups) await ldap.deleteGroup(cn).catch(() => undefined);
  await ldap.close();
  await raw.unbind();
});

async function addUser(u: NewUser): Promise<void> {
  madeUsers.add(u.uid);
  await ldap.addUser(u);
}

describe('LDAP adapter', () => {
  it('answers ping', async () => {
    await expect(ldap.ping()).resolves.toBeUndefined();
  });

  it('adds, reads and deletes a member; "exists" and "absent" are classified', async () => {
    const uid = name('a');
    await addUser(user(uid, idBase + 1, { terms: ['w2026', 's2026'] }));
    const got = await ldap.getUser(uid);
    expect(got).toMatchObject({
      dn: `uid=${uid},${info.ldap.usersBase}`,
      uid,
      cn: `Test ${uid}`,
      givenName: 'Test',
      sn: uid,
      uidNumber: idBase + 1,
      gidNumber: idBase + 1,
      homeDirectory: `/users/${uid}`,
      loginShell: '/bin/bash',
      program: 'MATH/Computer Science',
      terms: ['w2026', 's2026'],
      nonMemberTerms: [],
      positions: [],
      mailLocalAddresses: [],
      impliedMemberships: [],
    });
    expect(got!.objectClasses).toEqual(expect.arrayContaining(['account', 'posixAccount', 'shadowAccount', 'member']));

    expect(await codeOf(ldap.addUser(user(uid, idBase + 2)))).toMatchObject({ name: 'PermanentError', code: 'LDAP_ALREADY_EXISTS', permanent: true });
    expect(await ldap.deleteUser(uid)).toBe(true);
    expect(await ldap.deleteUser(uid)).toBe(false);
    expect(await ldap.getUser(uid)).toBeNull();
  });

  it('normalizes a single term to an array, and makes clubs with the club class', async () => {
    const uid = name('club');
    await addUser(user(uid, idBase + 3, { kind: 'club', terms: undefined, program: undefined }));
    const club = await ldap.getUser(uid);
    expect(club!.objectClasses).toContain('club');
    expect(club!.objectClasses).not.toContain('member');
    expect(club!.terms).toEqual([]);
    expect(club).not.toHaveProperty('program');

    const one = name('one');
    await addUser(user(one, idBase + 4, { nonMemberTerms: ['f2026'], terms: undefined }));
    expect((await ldap.getUser(one))!.nonMemberTerms).toEqual(['f2026']);
  });

  it('refuses a second account with the same uid number (unique overlay) as a constraint violation', async () => {
    await addUser(user(name('u1'), idBase + 10));
    madeUsers.add(name('u2'));
    expect(await codeOf(ldap.addUser(user(name('u2'), idBase + 10)))).toMatchObject({
      name: 'PermanentError',
      code: 'LDAP_CONSTRAINT_VIOLATION',
      permanent: true,
    });
  });

  it('classifies an entry the schema refuses as invalid data', async () => {
    madeUsers.add(name('nocn'));
    // posixAccount must have a cn; the adapter drops the empty one and slapd says so.
    expect((await codeOf(ldap.addUser(user(name('nocn'), idBase + 11, { cn: '' })))).code).toBe('LDAP_INVALID_DATA');
    expect(await ldap.getUser(name('nocn'))).toBeNull();
  });

  it('adds groups with uniqueMember DNs and reads members back as uids', async () => {
    const a = name('ga');
    const b = name('gb');
    await addUser(user(a, idBase + 20));
    await addUser(user(b, idBase + 21));
    const cn = name('grp');
    madeGroups.add(cn);
    await ldap.addGroup({ cn, gidNumber: idBase + 22, description: 'test group', members: [a, b] });
    const g = await ldap.getGroup(cn);
    expect(g).toEqual({ dn: `cn=${cn},${info.ldap.groupsBase}`, cn, gidNumber: idBase + 22, description: 'test group', members: [a, b] });
    expect(await ldap.groupsOf(a)).toEqual([cn]);

    const empty = name('empty');
    madeGroups.add(empty);
    await ldap.addGroup({ cn: empty, gidNumber: idBase + 23 });
    expect((await ldap.getGroup(empty))!.members).toEqual([]);

    expect((await codeOf(ldap.addGroup({ cn, gidNumber: idBase + 24 }))).code).toBe('LDAP_ALREADY_EXISTS');
    expect(await ldap.deleteGroup(empty)).toBe(true);
    expect(await ldap.deleteGroup(empty)).toBe(false);
    expect(await ldap.getGroup(empty)).toBeNull();
  });

  it('lists used uid and gid numbers in a range, from users and groups', async () => {
    const base = idBase + 500;
    await addUser(user(name('r1'), base + 1));
    await addUser(user(name('r2'), base + 5, { gidNumber: base + 6 }));
    const cn = name('rg');
    madeGroups.add(cn);
    await ldap.addGroup({ cn, gidNumber: base + 8 });
    expect([...(await ldap.usedIds(base, base + 10))].sort((x, y) => x - y)).toEqual([base + 1, base + 5, base + 6, base + 8]);
    // Integer ordering, not string ordering: 1000 is not between 200 and 300.
    expect([...(await ldap.usedIds(base + 2, base + 4))]).toEqual([]);
    expect(await ldap.usedIds(base + 9, base + 9)).toEqual(new Set());
  });

  it('knows which names are taken by users or groups', async () => {
    const u = name('nt');
    await addUser(user(u, idBase + 30));
    const g = name('ntg');
    madeGroups.add(g);
    await ldap.addGroup({ cn: g, gidNumber: idBase + 31 });
    expect(await ldap.nameTaken(u)).toBe(true);
    expect(await ldap.nameTaken(g)).toBe(true);
    expect(await ldap.nameTaken(name('free'))).toBe(false);
  });

  describe('hostile names', () => {
    const victim = name('victim');
    const oddUid = `${name('odd')},ou=Group=*(x)\\`;
    const oddDn = `uid=${name('odd')}\\,ou\\=Group\\=*(x)\\5c,${info.ldap.usersBase}`;

    beforeAll(async () => {
      await addUser(user(victim, idBase + 40));
      const cn = name('vgrp');
      madeGroups.add(cn);
      await ldap.addGroup({ cn, gidNumber: idBase + 41, members: [victim] });
      // An entry whose uid holds DN and filter specials, made around the adapter.
      await raw.add(oddDn, {
        objectClass: ['account', 'posixAccount'],
        uid: oddUid,
        cn: 'odd',
        uidNumber: String(idBase + 42),
        gidNumber: String(idBase + 42),
        homeDirectory: '/nonexistent',
      });
    });

    afterAll(async () => {
      await raw.del(oddDn).catch(() => undefined);
    });

    it.each(['*', `${victim.slice(0, 3)}*`, `x)(uid=${victim}`, `*)(|(uid=*`, `${victim}\0`, `${victim})`, '\\2a', `${victim}\\`])(
      'getUser(%j) matches nothing',
      async (hostile) => {
        expect(await ldap.getUser(hostile)).toBeNull();
      },
    );

    it.each(['*', `x)(cn=*`, `${victim})(uid=*`])('nameTaken and groupsOf of %j match nothing', async (hostile) => {
      expect(await ldap.nameTaken(hostile)).toBe(false);
      expect(await ldap.groupsOf(hostile)).toEqual([]);
    });

    it('deletes nothing through a name that reads like a DN, a wildcard, or the victim in other case or spacing', async () => {
      const hostiles = ['*', `${victim},${info.ldap.usersBase}`, `${victim},ou=People`, `${victim}\0`, `${victim} `, ` ${victim}`, victim.toUpperCase()];
      for (const hostile of hostiles) {
        expect(await codeOf(ldap.deleteUser(hostile))).toMatchObject({ name: 'PermanentError', code: 'LDAP_INVALID_DATA', permanent: true });
        expect((await codeOf(ldap.deleteGroup(hostile))).code).toBe('LDAP_INVALID_DATA');
      }
      expect(await ldap.getUser(victim)).not.toBeNull();
      expect(await ldap.getGroup(name('vgrp'))).not.toBeNull();
    });

    it('reads only the entry with exactly the name asked for', async () => {
      // slapd itself matches these to the victim (caseIgnoreMatch, insignificant spaces).
      for (const variant of [victim.toUpperCase(), `${victim} `, ` ${victim}`]) {
        expect(await ldap.getUser(variant)).toBeNull();
        expect(await ldap.groupsOf(variant)).toEqual([]);
      }
      expect(await ldap.getGroup(name('VGRP'))).toBeNull();
      expect(await ldap.groupsOf(victim)).toEqual([name('vgrp')]);
    });

    it('finds exactly the entry whose name holds DN and filter specials', async () => {
      const got = await ldap.getUser(oddUid);
      expect(got?.uid).toBe(oddUid);
      // slapd answers with hex escapes (`\2c`), the same DN as ours once normalized.
      expect(normalizeDn(got!.dn)).toBe(normalizeDn(oddDn));
      expect(got?.uidNumber).toBe(idBase + 42);
    });

    it('reads a member whose DN holds specials back from uniqueMember', async () => {
      const cn = name('oddgrp');
      const dn = `cn=${cn},${info.ldap.groupsBase}`;
      await raw.add(dn, {
        objectClass: ['posixGroup', 'group'],
        cn,
        gidNumber: String(idBase + 44),
        uniqueMember: [oddDn, `uid=${victim},${info.ldap.usersBase}`],
      });
      try {
        expect((await ldap.getGroup(cn))!.members.sort()).toEqual([oddUid, victim].sort());
      } finally {
        await raw.del(dn);
      }
    });

    it.each(['a*', 'a,ou=Group', 'a=b', 'Upper', 'a\0', 'a)(b', ' a', 'x'.repeat(40)])('refuses to create an entry named %j', async (bad) => {
      expect(await codeOf(ldap.addUser(user(bad, idBase + 43)))).toMatchObject({ name: 'PermanentError', code: 'LDAP_INVALID_DATA', permanent: true });
      expect(await codeOf(ldap.addGroup({ cn: bad, gidNumber: idBase + 43 }))).toMatchObject({ code: 'LDAP_INVALID_DATA' });
      expect(await codeOf(ldap.addGroup({ cn: name('okgrp'), gidNumber: idBase + 43, members: [bad] }))).toMatchObject({ code: 'LDAP_INVALID_DATA' });
      expect(await ldap.getUser(bad)).toBeNull();
    });
  });

  it('reuses one connection for many operations, concurrent ones included', async () => {
    const port = Number(new URL(info.ldap.url).port);
    const own = createLdap(opts);
    try {
      await own.ping();
      const before = connectionsTo(port);
      await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? own.nameTaken(name(`c${i}`)) : own.getUser(name(`c${i}`)))));
      for (let i = 0; i < 10; i++) await own.getGroup(name(`s${i}`));
      expect(connectionsTo(port)).toBe(before);
    } finally {
      await own.close();
    }
  });

  it('fails over a closed port as transient LDAP_UNAVAILABLE', async () => {
    const nowhere = createLdap({ ...opts, url: 'ldap://127.0.0.1:1' });
    try {
      expect(await codeOf(nowhere.ping())).toMatchObject({ name: 'TransientError', code: 'LDAP_UNAVAILABLE', permanent: false });
    } finally {
      await nowhere.close();
    }
  });

  it('refuses a wrong bind password as permanent LDAP_REFUSED', async () => {
    const wrong = createLdap({ ...opts, bindPassword: 'not-the-password' });
    try {
      const err = await codeOf(wrong.ping());
      expect(err).toMatchObject({ name: 'PermanentError', code: 'LDAP_REFUSED', permanent: true });
    } finally {
      await wrong.close();
    }
  });

  it('times out on a slapd that does not answer, and recovers when it answers again', async () => {
    const pid = Number(readFileSync(`${info.ldap.configFile.replace(/slapd\.conf$/, '')}slapd.pid`, 'utf8').trim());
    const own = createLdap({ ...opts, timeoutMs: 300 });
    try {
      await own.ping();
      process.kill(pid, 'SIGSTOP');
      try {
        const started = Date.now();
        expect(await codeOf(own.getUser(name('victim')))).toMatchObject({ name: 'TransientError', code: 'TIMEOUT', permanent: false });
        expect(Date.now() - started).toBeLessThan(2000);
      } finally {
        process.kill(pid, 'SIGCONT');
      }
      expect(await own.getUser(name('victim'))).not.toBeNull();
    } finally {
      await own.close();
    }
  });

  it('reports a stopped slapd as transient, then reconnects and rebinds on its own', async () => {
    const own = createLdap(opts);
    const uid = name('back');
    try {
      await own.ping();
      await stopService(info, 'slapd');
      try {
        const err = await codeOf(own.getUser(name('victim')));
        expect(err.name).toBe('TransientError');
        expect(['LDAP_UNAVAILABLE', 'TIMEOUT']).toContain(err.code);
        expect((await codeOf(own.ping())).permanent).toBe(false);
      } finally {
        await startService(info, 'slapd');
      }
      // A write needs the bind: an anonymous connection would be refused.
      madeUsers.add(uid);
      await own.addUser(user(uid, idBase + 50));
      expect((await own.getUser(uid))?.uidNumber).toBe(idBase + 50);
    } finally {
      await own.close();
    }
  });
});

describe('LDAP adapter: modifying People entries', () => {
  it('replaces, adds and deletes values; adding a value held or deleting one absent is no error', async () => {
    const uid = name('mod');
    await addUser(user(uid, idBase + 950, { terms: ['f2098'] }));
    await ldap.modifyUser(uid, [
      { op: 'replace', attr: 'loginShell', values: ['/bin/zsh'] },
      { op: 'add', attr: 'term', values: ['f2098', 'w2099'] }, // f2098 already held
    ]);
    let got = await ldap.getUser(uid);
    expect(got!.loginShell).toBe('/bin/zsh');
    expect(got!.terms.sort()).toEqual(['f2098', 'w2099']);

    await ldap.modifyUser(uid, [{ op: 'delete', attr: 'term', values: ['w2099', 's2097'] }]); // s2097 never held
    await ldap.modifyUser(uid, [{ op: 'replace', attr: 'previousLoginShell', values: ['/bin/bash'] }]);
    got = await ldap.getUser(uid);
    expect(got!.terms).toEqual(['f2098']);
    expect(got!.previousLoginShell).toBe('/bin/bash');

    // replace with no values removes the attribute; doing it twice is no error
    await ldap.modifyUser(uid, [{ op: 'replace', attr: 'previousLoginShell', values: [] }]);
    await ldap.modifyUser(uid, [{ op: 'replace', attr: 'previousLoginShell', values: [] }]);
    expect((await ldap.getUser(uid))!.previousLoginShell).toBeUndefined();
  });

  it('classifies a missing entry, refuses other attributes and non-canonical names before any request', async () => {
    expect(await codeOf(ldap.modifyUser(name('nobody'), [{ op: 'replace', attr: 'loginShell', values: ['/bin/sh'] }]))).toMatchObject({
      name: 'PermanentError',
      code: 'NOT_FOUND',
      permanent: true,
    });
    const uid = name('mod2');
    await addUser(user(uid, idBase + 951));
    for (const bad of [
      () => ldap.modifyUser(uid, [{ op: 'replace', attr: 'uidNumber' as never, values: ['0'] }]),
      () => ldap.modifyUser(uid, [{ op: 'replace', attr: 'objectClass' as never, values: ['top'] }]),
      () => ldap.modifyUser(uid, [{ op: 'add', attr: 'term', values: [] }]),
      () => ldap.modifyUser(uid, [{ op: 'replace', attr: 'loginShell', values: ['a\0b'] }]),
      () => ldap.modifyUser(uid, []),
      // "Alice " is alice to slapd: a modify must never reach another entry
      () => ldap.modifyUser(`${uid.toUpperCase()} `, [{ op: 'replace', attr: 'loginShell', values: ['/bin/sh'] }]),
      () => ldap.modifyUser(`${uid},ou=People`, [{ op: 'replace', attr: 'loginShell', values: ['/bin/sh'] }]),
    ]) {
      expect(await codeOf(bad())).toMatchObject({ code: 'LDAP_INVALID_DATA', permanent: true });
    }
    expect((await ldap.getUser(uid))!.loginShell).toBe('/bin/bash');
    // a value the schema refuses is classified too
    expect(await codeOf(ldap.modifyUser(uid, [{ op: 'add', attr: 'loginShell', values: ['/bin/zsh'] }]))).toMatchObject({ permanent: true });
  });

  it('lists members, by term (term or non-member term), with exact-name entries only', async () => {
    const a = name('lsa');
    const b = name('lsb');
    const term = `s20${10 + Math.floor(Math.random() * 80)}`; // a spring term long past: no other file creates members in it
    await addUser(user(a, idBase + 960, { terms: [term] }));
    await addUser(user(b, idBase + 961, { terms: undefined, nonMemberTerms: [term] }));
    const listed = await ldap.listMembers({ term });
    expect(listed.map((u) => u.uid).sort()).toEqual([a, b].sort());
    expect((await ldap.listMembers()).map((u) => u.uid)).toEqual(expect.arrayContaining([a, b, 'ctdalek']));
    expect(await codeOf(ldap.listMembers({ term: '*)(uid=*' }))).toMatchObject({ code: 'LDAP_INVALID_DATA' });
  });

  it('paged searches at the same time on the one connection all answer (slapd allows one at a time per connection)', async () => {
    // More entries than one page, so each search is still paging when the next one starts.
    const all = await ldap.listMembers();
    const results = await Promise.all([ldap.listMembers(), ldap.usedIds(1, 10_000_000), ldap.listMembers(), ldap.searchGroups('a'), ldap.usedIds(1, 10_000_000)]);
    expect((results[0] as unknown[]).length).toBe(all.length);
    expect((results[2] as unknown[]).length).toBe(all.length);
    expect((results[1] as Set<number>).size).toBeGreaterThan(0);
    expect(results[4]).toEqual(results[1]);
  });
});

describe('LDAP adapter: groups, their members, sudo roles', () => {
  it('adds, removes and replaces group members as ensures', async () => {
    const cn = name('gmembers');
    const [a, b, c] = [name('gma'), name('gmb'), name('gmc')];
    madeGroups.add(cn);
    await ldap.addGroup({ cn, gidNumber: idBase + 970, description: 'members test' });
    await ldap.changeGroupMembers(cn, { op: 'add', uids: [a, b] });
    await ldap.changeGroupMembers(cn, { op: 'add', uids: [a] }); // already there
    expect((await ldap.getGroup(cn))!.members.sort()).toEqual([a, b].sort());
    await ldap.changeGroupMembers(cn, { op: 'delete', uids: [b, c] }); // c never was
    expect((await ldap.getGroup(cn))!.members).toEqual([a]);
    await ldap.changeGroupMembers(cn, { op: 'replace', uids: [b, c] });
    expect((await ldap.getGroup(cn))!.members.sort()).toEqual([b, c].sort());
    await ldap.changeGroupMembers(cn, { op: 'replace', uids: [] });
    expect((await ldap.getGroup(cn))!.members).toEqual([]);
    expect(await ldap.groupsOf(b)).not.toContain(cn);

    expect(await codeOf(ldap.changeGroupMembers(name('nogrp'), { op: 'add', uids: [a] }))).toMatchObject({ code: 'NOT_FOUND', permanent: true });
    for (const bad of [`${a},ou=People`, 'A', '', `${a} `]) {
      expect(await codeOf(ldap.changeGroupMembers(cn, { op: 'add', uids: [bad] }))).toMatchObject({ code: 'LDAP_INVALID_DATA', permanent: true });
    }
  });

  it('searches groups by name and description, filter metacharacters as text', async () => {
    const cn = name('srch');
    madeGroups.add(cn);
    await ldap.addGroup({ cn, gidNumber: idBase + 971, description: `Searchable ${suffix} (club)` });
    expect((await ldap.searchGroups(cn.slice(0, 9))).map((g) => g.cn)).toContain(cn);
    expect((await ldap.searchGroups(`Searchable ${suffix}`)).map((g) => g.cn)).toEqual([cn]);
    expect((await ldap.searchGroups(`${suffix} (club)`)).map((g) => g.cn)).toEqual([cn]);
    expect(await ldap.searchGroups('*)(cn=*')).toEqual([]);
    expect(await codeOf(ldap.searchGroups(''))).toMatchObject({ code: 'LDAP_INVALID_DATA' });
  });

  it('reads many users in one search, and lists position holders', async () => {
    const [a, b] = [name('gua'), name('gub')];
    await addUser(user(a, idBase + 972));
    await addUser(user(b, idBase + 973));
    expect((await ldap.getUsers([a, b, name('absent'), 'Not*Valid'])).map((u) => u.uid).sort()).toEqual([a, b].sort());
    expect(await ldap.getUsers([])).toEqual([]);
    await ldap.modifyUser(a, [{ op: 'replace', attr: 'position', values: ['librarian'] }]);
    const holders = await ldap.positionHolders();
    expect(holders.find((u) => u.uid === a)?.positions).toEqual(['librarian']);
    expect(holders.map((u) => u.uid)).not.toContain(b);
  });

  it('adds, reads and deletes a club sudo role', async () => {
    const group = name('sudo');
    const role = { group, runAsUser: group, hosts: ['ALL'], commands: ['ALL'], options: ['!authenticate'] };
    try {
      await ldap.addSudoRole(role);
      expect(await ldap.getSudoRole(group)).toEqual({ ...role, dn: `cn=%${group},${info.ldap.sudoBase}` });
      expect(await codeOf(ldap.addSudoRole(role))).toMatchObject({ code: 'LDAP_ALREADY_EXISTS', permanent: true });
      expect(await ldap.deleteSudoRole(group)).toBe(true);
      expect(await ldap.deleteSudoRole(group)).toBe(false);
      expect(await ldap.getSudoRole(group)).toBeNull();
      for (const bad of [{ ...role, group: 'Bad,cn=x' }, { ...role, runAsUser: '*' }, { ...role, commands: ['ALL\nroot ALL=(ALL) ALL'] }]) {
        expect(await codeOf(ldap.addSudoRole(bad))).toMatchObject({ code: 'LDAP_INVALID_DATA', permanent: true });
      }
    } finally {
      await ldap.deleteSudoRole(group).catch(() => undefined);
    }
  });
});
