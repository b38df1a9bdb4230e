/**
 * The member lifecycle end to end: club reps, reads and listing, renew,
 * modify (shell, .forward), password reset and delete, through the API and
 * the four role workers as processes, checked on every system afterwards.
 */
import { execFile } from 'node:child_process';
import { lstatSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import IORedis, { type Redis } from 'ioredis';
import { call, type CeodCluster, jobCount as countJobs, runJob, startCeod, Tickets, waitForJob, seedTickets } from '../helpers/ceod';
import { redisAuth, testStack } from '../helpers/stack';
import { home, ldapGroups, ldapUsers, mailmanMembers, principal } from '../helpers/verify';

const exec = promisify(execFile);
const stack = testStack();
const newUid = () => `l${Math.random().toString(36).slice(2, 8).replace(/[^a-z0-9]/g, 'x')}`;
const person = (uid: string, extra: Record<string, unknown> = {}) => ({ uid, cn: `Life ${uid}`, given_name: 'Life', sn: uid, program: 'MATH', ...extra });

let cluster: CeodCluster;
let tickets: Tickets;
let redis: Redis;

beforeAll(async () => {
  tickets = await seedTickets(stack);
  cluster = await startCeod(stack, { name: 'life' });
  redis = new IORedis(stack.redis.url, redisAuth(stack));
}, 60_000);

afterAll(async () => {
  await cluster?.stop();
  redis?.disconnect();
});

const jobCount = () => countJobs(redis, cluster);

const run = (as: string, method: string, path: string, body?: unknown) => runJob(cluster, tickets, as, method, path, body);

async function create(uid: string, extra: Record<string, unknown> = { terms: ['f2099'] }) {
  return run('office1', 'POST', '/api/members', person(uid, extra));
}

/** 400 naming `field`, nothing enqueued. */
async function expect400(as: string, method: string, path: string, body: unknown, field: string) {
  const before = await jobCount();
  const res = await call(cluster, tickets, as, method, path, body);
  expect(res.status).toBe(400);
  expect(res.body.error.field).toBe(field);
  expect(await jobCount()).toBe(before);
}

describe('club reps', () => {
  test('non_member_terms creates a club rep: not on the new-member list, is_club_rep in reads', async () => {
    const uid = newUid();
    await create(uid, { non_member_terms: ['f2099'] });
    const [entry] = await ldapUsers(stack, uid);
    expect(entry!.nonMemberTerm).toEqual(['f2099']);
    expect(entry!.term).toBeUndefined();
    expect(await mailmanMembers(stack, 'csc-general')).not.toContain(`${uid}@${stack.baseDomain}`);
    const read = await call(cluster, tickets, 'office1', 'GET', `/api/members/${uid}`);
    expect(read.body).toMatchObject({ uid, is_club_rep: true, non_member_terms: ['f2099'], terms: [] });
  }, 60_000);

  test('both kinds of terms, or neither: 400 naming the field', async () => {
    await expect400('office1', 'POST', '/api/members', person(newUid(), { terms: ['f2099'], non_member_terms: ['f2099'] }), 'non_member_terms');
    await expect400('office1', 'POST', '/api/members', person(newUid()), 'terms');
  });
});

describe('reads', () => {
  let uid: string;
  beforeAll(async () => {
    uid = newUid();
    await create(uid, { terms: ['f2099'], forwarding_addresses: [`${uid}@example.org`] });
  }, 60_000);

  test('GET /api/members/:uid has every field; forwarding only for the member and syscom', async () => {
    const asSyscom = await call(cluster, tickets, 'ctdalek', 'GET', `/api/members/${uid}`);
    expect(asSyscom.status).toBe(200);
    expect(Object.keys(asSyscom.body).sort()).toEqual(
      ['uid', 'cn', 'given_name', 'sn', 'program', 'terms', 'non_member_terms', 'login_shell', 'home_directory', 'uid_number', 'gid_number', 'positions', 'groups', 'is_club_rep', 'forwarding_addresses'].sort(),
    );
    expect(asSyscom.body).toMatchObject({ uid, cn: `Life ${uid}`, terms: ['f2099'], is_club_rep: false, home_directory: `${stack.homeRoot}/${uid}`, forwarding_addresses: [`${uid}@example.org`] });
    const asOffice = await call(cluster, tickets, 'office1', 'GET', `/api/members/${uid}`);
    expect(asOffice.status).toBe(200);
    expect(asOffice.body).not.toHaveProperty('forwarding_addresses');
    const self = await call(cluster, tickets, 'regular1', 'GET', '/api/members/regular1');
    expect(self.body).toHaveProperty('forwarding_addresses');
    expect((await call(cluster, tickets, 'regular1', 'GET', `/api/members/${uid}`)).body).not.toHaveProperty('forwarding_addresses');
    expect((await call(cluster, tickets, 'regular1', 'GET', '/api/members/nosuchuser')).status).toBe(404);
  });

  test('GET /api/members?term= lists the members of a term, paginated and sorted', async () => {
    const first = await call(cluster, tickets, 'regular1', 'GET', '/api/members?term=f2099&limit=1&offset=0');
    expect(first.status).toBe(200);
    expect(first.body.members).toHaveLength(1);
    expect(first.body.total).toBeGreaterThanOrEqual(1);
    // Every page (the test stack keeps earlier runs' members: there may be more than one page of f2099).
    const members: any[] = [];
    for (let offset = 0; offset < first.body.total; offset += 500) {
      members.push(...(await call(cluster, tickets, 'regular1', 'GET', `/api/members?term=f2099&limit=500&offset=${offset}`)).body.members);
    }
    const uids = members.map((m: any) => m.uid);
    expect(uids).toContain(uid);
    expect(uids).toEqual([...uids].sort());
    expect(members.every((m: any) => m.terms.includes('f2099') || m.non_member_terms.includes('f2099'))).toBe(true);
    expect((await call(cluster, tickets, 'regular1', 'GET', '/api/members?term=x2099')).body.error.field).toBe('term');
    expect((await call(cluster, tickets, 'regular1', 'GET', '/api/members?limit=0')).body.error.field).toBe('limit');
  });
});

describe('renew', () => {
  test('adds terms sorted by date; terms held are no error; past terms and unknown uids refused', async () => {
    const uid = newUid();
    await create(uid, { terms: ['f2099'] });
    await run('office1', 'POST', `/api/members/${uid}/renew`, { terms: ['s2100', 'w2100', 'f2099'] });
    expect((await ldapUsers(stack, uid))[0]!.term).toEqual(['f2099', 'w2100', 's2100']);
    const job = await run('ctdalek', 'POST', `/api/members/${uid}/renew`, { terms: ['w2100'] });
    expect(job.result.added_terms).toEqual([]);
    expect((await ldapUsers(stack, uid))[0]!.term).toEqual(['f2099', 'w2100', 's2100']);

    await expect400('office1', 'POST', `/api/members/${uid}/renew`, { terms: ['w2001'] }, 'terms');
    await expect400('office1', 'POST', `/api/members/${uid}/renew`, { terms: ['f2099'], non_member_terms: ['f2099'] }, 'non_member_terms');
    await expect400('office1', 'POST', `/api/members/${uid}/renew`, {}, 'terms');
    await expect400('office1', 'POST', `/api/members/${uid}/renew`, { non_member_terms: ['f2099'] }, 'non_member_terms');
    await expect400('office1', 'POST', `/api/members/${uid}/renew`, { terms: ['f2100'], uid: 'ctdalek' }, 'uid');
    const before = await jobCount();
    expect((await call(cluster, tickets, 'office1', 'POST', '/api/members/nosuchuser/renew', { terms: ['f2099'] })).status).toBe(404);
    expect(await jobCount()).toBe(before);
  }, 90_000);
});

describe('modify', () => {
  test('a member changes their own shell and forwarding; an empty list removes .forward', async () => {
    const uid = newUid();
    await create(uid, { terms: ['f2099'], forwarding_addresses: [`${uid}@example.org`] });
    // syscom on someone else's account
    await run('ctdalek', 'PATCH', `/api/members/${uid}`, { login_shell: '/bin/sh', forwarding_addresses: ['a@example.org', 'b@example.org'] });
    expect((await ldapUsers(stack, uid))[0]!.loginShell).toEqual(['/bin/sh']);
    const forward = join(stack.homeRoot, uid, '.forward');
    expect(readFileSync(forward, 'utf8').trim().split('\n')).toEqual(['a@example.org', 'b@example.org']);
    const st = lstatSync(forward);
    const uidNumber = Number((await ldapUsers(stack, uid))[0]!.uidNumber![0]);
    expect([st.uid, st.mode & 0o777, st.isFile()]).toEqual([uidNumber, 0o644, true]);

    await run('ctdalek', 'PATCH', `/api/members/${uid}`, { forwarding_addresses: [] });
    expect(() => lstatSync(forward)).toThrow();

    await expect400('ctdalek', 'PATCH', `/api/members/${uid}`, { login_shell: '/bin/false-not-allowed' }, 'login_shell');
    await expect400('ctdalek', 'PATCH', `/api/members/${uid}`, { forwarding_addresses: ['not an address'] }, 'forwarding_addresses.0');
    await expect400('ctdalek', 'PATCH', `/api/members/${uid}`, {}, 'login_shell');
    await expect400('ctdalek', 'PATCH', `/api/members/${uid}`, { home_directory: '/etc' }, 'home_directory');
  }, 90_000);

  test('regular1 sets their own shell', async () => {
    const original = (await ldapUsers(stack, 'regular1'))[0]!.loginShell![0]!;
    try {
      const job = await run('regular1', 'PATCH', '/api/members/regular1', { login_shell: '/bin/zsh' });
      expect(job.requester).toBe('regular1');
      expect((await ldapUsers(stack, 'regular1'))[0]!.loginShell).toEqual(['/bin/zsh']);
    } finally {
      await run('regular1', 'PATCH', '/api/members/regular1', { login_shell: original });
    }
  }, 60_000);

  test('a .forward the user replaced by a symlink to /etc/passwd is not followed', async () => {
    const uid = newUid();
    await create(uid);
    const forward = join(stack.homeRoot, uid, '.forward');
    const passwd = readFileSync('/etc/passwd', 'utf8');
    rmSync(forward, { force: true });
    symlinkSync('/etc/passwd', forward);
    const res = await call(cluster, tickets, 'ctdalek', 'PATCH', `/api/members/${uid}`, { forwarding_addresses: ['evil@example.org'] });
    expect(res.status).toBe(202);
    const job = await waitForJob(cluster, tickets, 'ctdalek', res.body.id);
    expect(readFileSync('/etc/passwd', 'utf8')).toBe(passwd);
    // Either the link is replaced by a regular file, or the write is refused; /etc/passwd is never touched.
    const st = lstatSync(forward);
    if (job.state === 'completed') {
      expect(st.isSymbolicLink()).toBe(false);
      expect(readFileSync(forward, 'utf8').trim()).toBe('evil@example.org');
    } else {
      expect(job.error.code).toMatch(/^HOME_|FS_/);
    }
  }, 90_000);
});

describe('password reset', () => {
  test('a new password that must be changed, readable by the requester only', async () => {
    const uid = newUid();
    const created = await create(uid);
    const job = await run('office1', 'POST', `/api/members/${uid}/pwreset`);
    const password = job.result.password as string;
    expect(password).toMatch(/^\S{12,}$/);
    expect(password).not.toBe(created.result.password);
    expect((await principal(stack, uid))!.attributes).toContain('REQUIRES_PWCHANGE');
    expect((await call(cluster, tickets, 'ctdalek', 'GET', `/api/jobs/${job.id}`)).body.result.password).toBeUndefined();
    const kinit = await new Promise<string>((resolve) => {
      const child = execFile('kinit', [uid], { env: { ...tickets.env(), KRB5CCNAME: `FILE:${cluster.dir}/cc-${uid}` } }, (_e, out, err) => resolve(out + err));
      child.stdin!.end(`${password}\n`);
    });
    expect(kinit).toMatch(/Password expired|must change/i);
    for (const name of ['api', 'admin'] as const) expect(cluster.logs(name)).not.toContain(password);
    const before = await jobCount();
    expect((await call(cluster, tickets, 'office1', 'POST', '/api/members/nosuchuser/pwreset')).status).toBe(404);
    expect((await call(cluster, tickets, 'office1', 'POST', `/api/members/${uid}/pwreset`, { password: 'x' })).status).toBe(400);
    expect(await jobCount()).toBe(before);
  }, 90_000);
});

describe('delete', () => {
  test('removes the account from every system', async () => {
    const uid = newUid();
    await create(uid);
    expect(await mailmanMembers(stack, 'csc-general')).toContain(`${uid}@${stack.baseDomain}`);
    await run('ctdalek', 'POST', `/api/groups/termcom/members/${uid}?subscribe_to_lists=false`);
    const job = await run('ctdalek', 'DELETE', `/api/members/${uid}`);
    expect(job.steps.map((s: any) => [s.name, s.role])).toEqual([
      ['unsubscribe_all', 'mail'],
      ['delete_home', 'fs'],
      ['drop_mysql_database', 'db'],
      ['drop_postgresql_database', 'db'],
      ['delete_principal', 'admin'],
      ['delete_personal_group', 'admin'],
      ['leave_groups', 'admin'],
      ['delete_user', 'admin'],
    ]);
    expect(job.result.unsubscribed_from).toContain('csc-general');
    expect(job.result.left_groups.sort()).toEqual(['office', 'termcom']); // termcom brings office
    expect((await ldapGroups(stack, 'termcom'))[0]!.uniqueMember ?? []).not.toContain(`uid=${uid},${stack.ldap.usersBase}`);
    expect(await ldapUsers(stack, uid)).toEqual([]);
    expect(await ldapGroups(stack, uid)).toEqual([]);
    expect(await principal(stack, uid)).toBeNull();
    expect(await home(stack, uid)).toBeNull();
    expect(await mailmanMembers(stack, 'csc-general')).not.toContain(`${uid}@${stack.baseDomain}`);
    // now it does not exist: 404 before anything is enqueued
    const before = await jobCount();
    expect((await call(cluster, tickets, 'ctdalek', 'DELETE', `/api/members/${uid}`)).status).toBe(404);
    expect(await jobCount()).toBe(before);
  }, 90_000);

  test('a half-existing account (principal and home removed by hand) is cleaned up without error', async () => {
    const uid = newUid();
    await create(uid);
    await exec('kadmin', ['-k', '-t', stack.krb5.adminKeytab, '-p', stack.krb5.adminPrincipal, '-r', stack.realm, '-q', `delprinc -force ${uid}`], {
      env: { ...process.env, KRB5_CONFIG: stack.krb5.config },
    });
    expect(await principal(stack, uid)).toBeNull();
    rmSync(join(stack.homeRoot, uid), { recursive: true, force: true });
    const job = await run('ctdalek', 'DELETE', `/api/members/${uid}`);
    expect(job.result).toMatchObject({ principal_removed: false, home_removed: false, mysql_dropped: false, postgresql_dropped: false, group_removed: true, user_removed: true });
    expect(await ldapUsers(stack, uid)).toEqual([]);
    expect(await ldapGroups(stack, uid)).toEqual([]);
  }, 90_000);
});
