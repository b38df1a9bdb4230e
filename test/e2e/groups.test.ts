/**
 * Clubs and groups end to end (docs/jobs.md, docs/api.md): create a club (sudo role, group,
 * club user, home dir), read and search, add and remove members with their
 * auxiliary groups and lists, roll back a club whose home dir cannot be made,
 * and delete a club — through the API and the four role workers as processes,
 * checked with ldapsearch, stat and Mailman's REST API.
 */
import { chownSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import IORedis, { type Redis } from 'ioredis';
import { call, type CeodCluster, jobCount as countJobs, runJob, startCeod, Tickets, waitForJob, seedTickets } from '../helpers/ceod';
import { redisAuth, testStack } from '../helpers/stack';
import { home, ldapGroups, ldapsearch, ldapSudoRoles, ldapUsers, mailmanMembers } from '../helpers/verify';

const stack = testStack();
const rnd = () => Math.random().toString(36).slice(2, 8).replace(/[^a-z0-9]/g, 'x');
const newName = (p = 'g') => `${p}${rnd()}`;

let cluster: CeodCluster;
let tickets: Tickets;
let redis: Redis;

beforeAll(async () => {
  tickets = await seedTickets(stack);
  cluster = await startCeod(stack, { name: 'groups' });
  redis = new IORedis(stack.redis.url, redisAuth(stack));
}, 60_000);

afterAll(async () => {
  await cluster?.stop();
  redis?.disconnect();
});

const jobCount = () => countJobs(redis, cluster);

/** Submits as ctdalek, expects 202, waits for the job to finish. */
async function submit(method: string, path: string, body?: unknown) {
  const res = await call(cluster, tickets, 'ctdalek', method, path, body);
  if (res.status !== 202) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(res.body)}`);
  return waitForJob(cluster, tickets, 'ctdalek', res.body.id);
}

const run = (method: string, path: string, body?: unknown) => runJob(cluster, tickets, 'ctdalek', method, path, body);

/** `status` with the error naming `field`, and nothing enqueued. */
async function refused(status: number, method: string, path: string, body: unknown, field?: string) {
  const before = await jobCount();
  const res = await call(cluster, tickets, 'ctdalek', method, path, body);
  expect([method, path, res.status]).toEqual([method, path, status]);
  if (field) expect(res.body.error.field).toBe(field);
  expect(await jobCount()).toBe(before);
  return res;
}

const createClub = (cn: string, description = `Club ${cn}`) => run('POST', '/api/groups', { cn, description });
const createMember = (uid: string) => run('POST', '/api/members', { uid, cn: `Grp ${uid}`, given_name: 'Grp', sn: uid, program: 'MATH', terms: ['f2099'] });
const address = (uid: string) => `${uid}@${stack.baseDomain}`;
const membersOf = async (cn: string) => (await ldapGroups(stack, cn))[0]?.uniqueMember ?? [];
const inGroup = async (cn: string, uid: string) => (await membersOf(cn)).includes(`uid=${uid},${stack.ldap.usersBase}`);

describe('create a club', () => {
  const cn = newName('club');
  let job: any;
  beforeAll(async () => {
    job = await createClub(cn, 'Computer Science Club Test');
  }, 60_000);

  test('runs sudo role, group, club user, home dir in that order, each on its host', () => {
    expect(job.steps.map((s: any) => [s.name, s.role, s.state])).toEqual([
      ['add_sudo_role', 'admin', 'completed'],
      ['add_group', 'admin', 'completed'],
      ['add_club_user', 'admin', 'completed'],
      ['create_club_home', 'fs', 'completed'],
    ]);
  });

  test('the group takes a number in the clubs range, and the club user the same number', async () => {
    const [group] = await ldapGroups(stack, cn);
    const [user] = await ldapUsers(stack, cn);
    const n = Number(group!.gidNumber![0]);
    expect(n).toBeGreaterThanOrEqual(30001);
    expect(n).toBeLessThanOrEqual(39999);
    expect(group!.objectClass).toEqual(expect.arrayContaining(['posixGroup', 'group']));
    expect(group!.description).toEqual(['Computer Science Club Test']);
    expect(user!.objectClass).toEqual(expect.arrayContaining(['account', 'posixAccount', 'club']));
    expect(user!.objectClass).not.toContain('member');
    expect(user).toMatchObject({ uidNumber: [String(n)], gidNumber: [String(n)], homeDirectory: [join(stack.homeRoot, cn)], cn: ['Computer Science Club Test'] });
  });

  test('the sudo role lets members of the group run commands as the club user', async () => {
    const [role] = await ldapSudoRoles(stack, cn);
    expect(role).toMatchObject({
      cn: [`%${cn}`],
      sudoUser: [`%${cn}`],
      sudoRunAsUser: [cn],
      sudoHost: ['ALL'],
      sudoCommand: ['ALL'],
      sudoOption: ['!authenticate'],
    });
    expect(role!.objectClass).toContain('sudoRole');
  });

  test('the home directory is owned by the club user', async () => {
    const [user] = await ldapUsers(stack, cn);
    const n = Number(user!.uidNumber![0]);
    expect(await home(stack, cn)).toMatchObject({ isDir: true, uid: n, gid: n });
  });

  test('GET /api/groups/:cn reads it back', async () => {
    const res = await call(cluster, tickets, 'regular1', 'GET', `/api/groups/${cn}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ cn, description: 'Computer Science Club Test', members: [] });
    expect(res.body.gid_number).toBeGreaterThanOrEqual(30001);
  });

  test('a name held by a user, a group or a club is a 409 before anything is enqueued', async () => {
    await refused(409, 'POST', '/api/groups', { cn, description: 'again' }, 'cn');
    await refused(409, 'POST', '/api/groups', { cn: 'regular1', description: 'a member' }, 'cn');
    await refused(409, 'POST', '/api/groups', { cn: 'termcom', description: 'a system group' }, 'cn');
  });

  test('bad and hostile names are 400s naming the field', async () => {
    await refused(400, 'POST', '/api/groups', { cn: 'office', description: 'reserved' }, 'cn');
    await refused(400, 'POST', '/api/groups', { cn: 'Bad Name', description: 'x' }, 'cn');
    await refused(400, 'POST', '/api/groups', { cn: 'a,ou=People', description: 'x' }, 'cn');
    await refused(400, 'POST', '/api/groups', { cn: '../etc', description: 'x' }, 'cn');
    await refused(400, 'POST', '/api/groups', { cn: newName(), description: '' }, 'description');
    await refused(400, 'POST', '/api/groups', { cn: newName() }, 'description');
    await refused(400, 'POST', '/api/groups', { cn: newName(), description: 'x', gid_number: 5 }, 'gid_number');
    await refused(400, 'GET', '/api/groups/Bad%20Name', undefined, 'cn');
    await refused(404, 'GET', `/api/groups/${newName('none')}`, undefined, 'cn');
  });
});

describe('search', () => {
  const stem = `s${rnd()}`;
  beforeAll(async () => {
    for (const cn of [stem, `${stem}-b`, `x${stem}`]) await createClub(cn, `Search ${cn}`);
  }, 90_000);

  test('exact name first, then prefix, then substring', async () => {
    const res = await call(cluster, tickets, 'regular1', 'GET', `/api/groups?search=${stem}`);
    expect(res.status).toBe(200);
    expect(res.body.groups.map((g: any) => g.cn)).toEqual([stem, `${stem}-b`, `x${stem}`]);
    expect(res.body.groups[0]).toMatchObject({ cn: stem, description: `Search ${stem}` });
  });

  test('limit bounds the answer; descriptions match too', async () => {
    const res = await call(cluster, tickets, 'regular1', 'GET', `/api/groups?search=${stem}&limit=1`);
    expect(res.body.groups.map((g: any) => g.cn)).toEqual([stem]);
    const byDescription = await call(cluster, tickets, 'regular1', 'GET', `/api/groups?search=${encodeURIComponent(`Search x${stem}`)}`);
    expect(byDescription.body.groups.map((g: any) => g.cn)).toEqual([`x${stem}`]);
  });

  test('members’ personal groups are not search results', async () => {
    const res = await call(cluster, tickets, 'regular1', 'GET', '/api/groups?search=regular1');
    expect(res.status).toBe(200);
    expect(res.body.groups).toEqual([]);
  });

  test('filter metacharacters are text, not syntax; bad queries are 400s', async () => {
    for (const text of ['*', '*)(cn=*', '\\', 'a)(objectClass=*']) {
      const res = await call(cluster, tickets, 'regular1', 'GET', `/api/groups?search=${encodeURIComponent(text)}`);
      expect([text, res.status, res.body.groups]).toEqual([text, 200, []]);
    }
    await refused(400, 'GET', '/api/groups', undefined, 'search');
    await refused(400, 'GET', `/api/groups?search=${'a'.repeat(65)}`, undefined, 'search');
    await refused(400, 'GET', '/api/groups?search=a%00b', undefined, 'search');
    await refused(400, 'GET', `/api/groups?search=${stem}&limit=0`, undefined, 'limit');
  });
});

describe('membership', () => {
  const uid = newName('m');
  const club = newName('club');
  beforeAll(async () => {
    await createMember(uid);
    await createClub(club);
  }, 90_000);

  test('adding to a club shows in the group and in GET', async () => {
    await run('POST', `/api/groups/${club}/members/${uid}`);
    expect(await inGroup(club, uid)).toBe(true);
    const res = await call(cluster, tickets, 'regular1', 'GET', `/api/groups/${club}`);
    expect(res.body.members).toEqual([{ uid, cn: `Grp ${uid}`, program: 'MATH' }]);
  }, 60_000);

  test('adding someone already there is no error', async () => {
    const job = await run('POST', `/api/groups/${club}/members/${uid}`);
    expect(job.state).toBe('completed');
    expect((await membersOf(club)).filter((m) => m.startsWith(`uid=${uid},`))).toHaveLength(1);
  }, 60_000);

  test('syscom brings its auxiliary groups and lists; leaving takes only what no other group implies', async () => {
    await run('POST', `/api/groups/syscom/members/${uid}`);
    for (const g of ['syscom', 'office', 'staff']) expect([g, await inGroup(g, uid)]).toEqual([g, true]);
    for (const list of ['syscom', 'syscom-alerts']) expect([list, (await mailmanMembers(stack, list)).includes(address(uid))]).toEqual([list, true]);

    // termcom also implies office: leaving syscom must keep it.
    await run('POST', `/api/groups/termcom/members/${uid}`);
    await run('DELETE', `/api/groups/syscom/members/${uid}`);
    expect(await inGroup('syscom', uid)).toBe(false);
    expect(await inGroup('staff', uid)).toBe(false);
    expect(await inGroup('office', uid)).toBe(true);
    for (const list of ['syscom', 'syscom-alerts']) expect([list, (await mailmanMembers(stack, list)).includes(address(uid))]).toEqual([list, false]);

    await run('DELETE', `/api/groups/termcom/members/${uid}`);
    expect(await inGroup('termcom', uid)).toBe(false);
    expect(await inGroup('office', uid)).toBe(false);
  }, 120_000);

  test('leaving syscom keeps a direct office membership: only memberships syscom added are taken (issue 10, #11)', async () => {
    const who = newName('m');
    await createMember(who);
    await run('POST', `/api/groups/office/members/${who}`); // office staff in their own right
    await run('POST', `/api/groups/syscom/members/${who}?subscribe_to_lists=false`);
    expect(await inGroup('staff', who)).toBe(true);
    const marks = async () => (await ldapsearch(stack, stack.ldap.usersBase, `(uid=${who})`))[0]?.impliedMembership ?? [];
    expect(await marks()).toEqual(['staff:syscom']);
    await run('DELETE', `/api/groups/syscom/members/${who}?unsubscribe_from_lists=false`);
    expect(await inGroup('syscom', who)).toBe(false);
    expect(await inGroup('staff', who)).toBe(false);
    expect(await inGroup('office', who)).toBe(true);
    expect(await marks()).toEqual([]);
  }, 120_000);

  test('?subscribe_to_lists=false leaves the lists alone, both ways', async () => {
    const other = newName('m');
    await createMember(other);
    await run('POST', `/api/groups/syscom/members/${other}?subscribe_to_lists=false`);
    expect(await inGroup('syscom', other)).toBe(true);
    expect(await mailmanMembers(stack, 'syscom')).not.toContain(address(other));
    await run('POST', `/api/groups/syscom/members/${other}`);
    expect(await mailmanMembers(stack, 'syscom')).toContain(address(other));
    await run('DELETE', `/api/groups/syscom/members/${other}?unsubscribe_from_lists=false`);
    expect(await inGroup('syscom', other)).toBe(false);
    expect(await mailmanMembers(stack, 'syscom')).toContain(address(other));
  }, 120_000);

  test('unknown group or member is a 404, bad names and flags are 400s, nothing enqueued', async () => {
    await refused(404, 'POST', `/api/groups/${newName('none')}/members/${uid}`, undefined, 'cn');
    await refused(404, 'POST', `/api/groups/${club}/members/${newName('none')}`, undefined, 'uid');
    await refused(400, 'POST', `/api/groups/${club}/members/Bad`, undefined, 'uid');
    await refused(400, 'POST', `/api/groups/${club}/members/${uid}?subscribe_to_lists=maybe`, undefined, 'subscribe_to_lists');
    await refused(400, 'DELETE', `/api/groups/${club}/members/${uid}?subscribe_to_lists=false`, undefined, 'subscribe_to_lists');
  });
});

describe('rollback', () => {
  test('a club whose home dir cannot be made leaves no group, user or sudo role', async () => {
    const cn = newName('club');
    const dir = join(stack.homeRoot, cn);
    mkdirSync(dir);
    chownSync(dir, 54321, 54321); // someone else's directory is in the way
    try {
      const job = await submit('POST', '/api/groups', { cn, description: 'Doomed Club' });
      expect(job.state).toBe('rolled_back');
      expect(job.error).toMatchObject({ code: 'HOME_EXISTS', step: 'create_club_home' });
      expect(job.steps.map((s: any) => [s.name, s.state])).toEqual([
        ['add_sudo_role', 'undone'],
        ['add_group', 'undone'],
        ['add_club_user', 'undone'],
        ['create_club_home', 'failed'],
      ]);
      expect(await ldapGroups(stack, cn)).toEqual([]);
      expect(await ldapUsers(stack, cn)).toEqual([]);
      expect(await ldapSudoRoles(stack, cn)).toEqual([]);
      expect(statSync(dir).uid).toBe(54321); // and the directory in the way is untouched
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 90_000);
});

describe('delete a club', () => {
  test('removes sudo role, club user, group and home dir (and its databases: none here)', async () => {
    const cn = newName('club');
    await createClub(cn);
    const job = await run('DELETE', `/api/groups/${cn}`);
    expect(job.steps.map((s: any) => [s.name, s.role, s.state])).toEqual([
      ['remove_sudo_role', 'admin', 'completed'],
      ['drop_mysql_database', 'db', 'completed'],
      ['drop_postgresql_database', 'db', 'completed'],
      ['remove_club_user', 'admin', 'completed'],
      ['remove_group', 'admin', 'completed'],
      ['delete_club_home', 'fs', 'completed'],
    ]);
    expect(await ldapGroups(stack, cn)).toEqual([]);
    expect(await ldapUsers(stack, cn)).toEqual([]);
    expect(await ldapSudoRoles(stack, cn)).toEqual([]);
    expect(await home(stack, cn)).toBeNull();
    expect(job.result).toMatchObject({ mysql_dropped: false, postgresql_dropped: false });
    await refused(404, 'DELETE', `/api/groups/${cn}`, undefined, 'cn');
  }, 90_000);

  test('a member’s personal group and the system groups are not clubs', async () => {
    await refused(409, 'DELETE', '/api/groups/regular1', undefined, 'cn');
    await refused(409, 'DELETE', '/api/groups/syscom', undefined, 'cn');
    await refused(409, 'DELETE', '/api/groups/termcom', undefined, 'cn');
    expect(await ldapGroups(stack, 'regular1')).toHaveLength(1);
  });
});
