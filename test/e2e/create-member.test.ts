/**
 * Create member end to end: the API and the four role workers as separate
 * processes, real tickets, real servers, and every system checked afterwards
 * with the standard tools.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import IORedis, { type Redis } from 'ioredis';
import { parse, stringify } from 'ini';
import { call, type CeodCluster, startCeod, Tickets, waitFor, waitForJob, seedTickets } from '../helpers/ceod';
import { startService, stopService, redisAuth, testStack } from '../helpers/stack';
import { home, ldapGroups, ldapUsers, mailmanMembers, mailsMentioning, principal } from '../helpers/verify';
import { termOf } from '../../src/core/rules/terms';

const exec = promisify(execFile);
const stack = testStack();
const TERM = 'f2099'; // never in the past, whatever today is
const newUid = () => `e${Math.random().toString(36).slice(2, 8).replace(/[^a-z0-9]/g, 'x')}`;
const body = (uid: string, extra: Record<string, unknown> = {}) => ({
  uid,
  cn: `Test ${uid}`,
  given_name: 'Test',
  sn: uid,
  program: 'MATH',
  terms: [TERM],
  forwarding_addresses: [`${uid}@example.org`],
  ...extra,
});

let cluster: CeodCluster;
let tickets: Tickets;
let redis: Redis;

beforeAll(async () => {
  tickets = await seedTickets(stack);
  // 20 attempts (up to 2 s apart): Mailman, stopped by one test, takes 10 s and more to answer again on a busy machine.
  cluster = await startCeod(stack, { name: 'create', edits: { all: { ceod: { step_attempts: 20 } } } });
  redis = new IORedis(stack.redis.url, redisAuth(stack));
}, 60_000);

afterAll(async () => {
  await cluster?.stop();
  redis?.disconnect();
});

/** Job records and queued step jobs under this cluster's prefix. */
async function enqueuedCount(): Promise<number> {
  const records = await redis.keys(`${cluster.prefix}:job:*`);
  const steps = await redis.keys(`${cluster.prefix}:ceod-*:*-do0`);
  return records.length + steps.length;
}

async function expectFullyCreated(uid: string) {
  const [user] = await ldapUsers(stack, uid);
  expect(user).toBeDefined();
  expect(user!.objectClass).toEqual(expect.arrayContaining(['account', 'posixAccount', 'shadowAccount', 'member']));
  expect(user!.term).toEqual([TERM]);
  expect(user!.program).toEqual(['MATH']);
  const uidNumber = Number(user!.uidNumber![0]);
  const [group] = await ldapGroups(stack, uid);
  expect(Number(group!.gidNumber![0])).toBe(uidNumber);
  expect((await principal(stack, uid))!.attributes).toContain('REQUIRES_PWCHANGE');
  expect(await home(stack, uid)).toMatchObject({ isDir: true, uid: uidNumber, gid: uidNumber });
  const forward = join(stack.homeRoot, uid, '.forward');
  expect(readFileSync(forward, 'utf8').trim()).toBe(`${uid}@example.org`);
  expect(await mailmanMembers(stack, 'csc-general')).toContain(`${uid}@${stack.baseDomain}`);
  return uidNumber;
}

async function expectNothingLeft(uid: string) {
  expect(await ldapUsers(stack, uid)).toEqual([]);
  expect(await ldapGroups(stack, uid)).toEqual([]);
  expect(await principal(stack, uid)).toBeNull();
  expect(await home(stack, uid)).toBeNull();
  expect(await mailmanMembers(stack, 'csc-general')).not.toContain(`${uid}@${stack.baseDomain}`);
}

describe('authentication and authorization', () => {
  test('no ticket: 401 with a Negotiate challenge', async () => {
    const res = await call(cluster, tickets, null, 'POST', '/api/members', body(newUid()));
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Negotiate');
    expect(res.body.error.code).toBe('UNAUTHENTICATED');
  });

  test('a garbage token: 401', async () => {
    const res = await call(cluster, tickets, null, 'GET', '/api/members/ctdalek', undefined, { authorization: 'Negotiate YWJjZGVm' });
    expect(res.status).toBe(401);
  });

  test('a plain member may not create members: 403, nothing enqueued', async () => {
    const before = await enqueuedCount();
    const res = await call(cluster, tickets, 'regular1', 'POST', '/api/members', body(newUid()));
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('FORBIDDEN');
    expect(await enqueuedCount()).toBe(before);
  });

  test('mutual authentication: the success carries the server token', async () => {
    const res = await call(cluster, tickets, 'regular1', 'GET', '/api/members/regular1');
    expect(res.status).toBe(200);
    expect(res.headers.get('www-authenticate')).toMatch(/^Negotiate [A-Za-z0-9+/=]+$/);
    expect(res.body).toMatchObject({ uid: 'regular1' });
  });
});

describe('bad input: 400 naming the field, nothing enqueued', () => {
  const uid = newUid();
  test.each([
    ['missing uid', { ...body(uid), uid: undefined }, 'uid'],
    ['upper-case uid', body('Alice'), 'uid'],
    ['filter metacharacters', body('a*)(uid=*'), 'uid'],
    ['DN metacharacters', body('a,ou=People'), 'uid'],
    ['path traversal', body('../../etc'), 'uid'],
    ['reserved name', body('root'), 'uid'],
    ['past term', body(uid, { terms: ['w2001'] }), 'terms'],
    ['both kinds of terms', body(uid, { non_member_terms: [TERM] }), 'non_member_terms'],
    ['bad address', body(uid, { forwarding_addresses: ['nope'] }), 'forwarding_addresses.0'],
    ['unknown field', body(uid, { is_admin: true }), 'is_admin'],
    ['wrong type', body(uid, { terms: 'f2099' }), 'terms'],
  ])('%s', async (_what, b, field) => {
    const before = await enqueuedCount();
    const res = await call(cluster, tickets, 'office1', 'POST', '/api/members', b);
    expect(res.status).toBe(400);
    expect(res.body.error.field).toBe(field);
    expect(res.body.error.message).toMatch(new RegExp(field.replace('.', '\\.')));
    expect(await enqueuedCount()).toBe(before);
  });

  test('malformed JSON, a huge body, and the wrong content type', async () => {
    const before = await enqueuedCount();
    expect((await call(cluster, tickets, 'office1', 'POST', '/api/members', '{"uid":')).status).toBe(400);
    expect((await call(cluster, tickets, 'office1', 'POST', '/api/members', JSON.stringify({ ...body(uid), cn: 'x'.repeat(200_000) }))).status).toBe(413);
    expect((await call(cluster, tickets, 'office1', 'POST', '/api/members', 'uid=x', { 'content-type': 'text/plain' })).status).toBe(415);
    expect(await enqueuedCount()).toBe(before);
  });
});

test('create a member with curl --negotiate; every system has it; the requester gets the password', async () => {
  const uid = newUid();
  const env = { ...tickets.env(), KRB5CCNAME: tickets.ccache };
  // Pick ctdalek's ticket from the collection, as `kswitch -p ctdalek` would.
  await exec('kswitch', ['-p', 'ctdalek'], { env });
  const { stdout } = await exec(
    'curl',
    ['-sS', '-w', '\n%{http_code}', '--negotiate', '-u', ':', '--service-name', 'ceod', '-H', 'Content-Type: application/json', '-d', JSON.stringify(body(uid)), `${cluster.url}/api/members`],
    { env },
  );
  const [json, status] = stdout.split('\n');
  expect(status).toBe('202');
  const accepted = JSON.parse(json!);
  expect(accepted).toEqual({ id: expect.any(String), status_url: `/api/jobs/${accepted.id}`, events_url: `/api/jobs/${accepted.id}/events` });

  const job = await waitForJob(cluster, tickets, 'ctdalek', accepted.id);
  expect(job.state).toBe('completed');
  expect(job.steps.map((s: any) => [s.name, s.state])).toEqual([
    ['add_ldap_user', 'completed'],
    ['add_personal_group', 'completed'],
    ['add_principal', 'completed'],
    ['create_home', 'completed'],
    ['write_forward', 'completed'],
    ['send_welcome_mail', 'completed'],
    ['subscribe_new_member_list', 'completed'],
    ['announce_new_member', 'completed'],
  ]);
  const hosts = Object.fromEntries(job.steps.map((s: any) => [s.name, s.host]));
  expect(hosts.add_ldap_user).toBe('phosphoric-acid.csclub.internal');
  expect(hosts.subscribe_new_member_list).toMatch(/^mail\./);
  const uidNumber = await expectFullyCreated(uid);
  expect(job.result.uidNumber).toBe(uidNumber);
  expect(await mailsMentioning(stack, `To: ${uid}@${stack.baseDomain}`)).toHaveLength(1);
  expect((await mailsMentioning(stack, `(${uid})`)).length).toBeGreaterThanOrEqual(1);

  // The password: only for the requester, never in Redis in clear.
  const password = job.result.password as string;
  expect(password).toMatch(/^\S{12,}$/);
  const other = await call(cluster, tickets, 'office1', 'GET', `/api/jobs/${accepted.id}`);
  expect(other.status).toBe(200);
  expect(other.body.result.password).toBeUndefined();
  for (const key of await redis.keys(`${cluster.prefix}:*`)) {
    const type = await redis.type(key);
    const dump = type === 'string' ? await redis.get(key) : type === 'hash' ? JSON.stringify(await redis.hgetall(key)) : type === 'stream' ? JSON.stringify(await redis.xrange(key, '-', '+')) : '';
    expect(dump ?? '').not.toContain(password);
  }
  for (const name of ['api', 'admin', 'fs', 'mail'] as const) expect(cluster.logs(name)).not.toContain(password);

  // kinit with it works, and asks for a new one at once.
  const kinit = await new Promise<string>((resolve) => {
    const child = execFile('kinit', [uid], { env: { ...tickets.env(), KRB5CCNAME: `FILE:${cluster.dir}/cc-${uid}` } }, (_e, out, err) => resolve(out + err));
    child.stdin!.end(`${password}\n`);
  });
  expect(kinit).toMatch(/Password expired|must change/i);

  // A late client replays every event, in order, and the stream ends with the final one.
  const sse = await exec('curl', ['-sS', '-N', '--max-time', '10', '--negotiate', '-u', ':', '--service-name', 'ceod', `${cluster.url}/api/jobs/${accepted.id}/events`], { env });
  const events = [...sse.stdout.matchAll(/^event: (\w+)$/gm)].map((m) => m[1]);
  expect(events).toEqual(['queued', ...Array(8).fill(['step_started', 'step_completed']).flat(), 'completed']);
}, 90_000);

test('SSE: a live client sees steps as they happen and resumes from Last-Event-ID', async () => {
  const uid = newUid();
  const res = await call(cluster, tickets, 'office1', 'POST', '/api/members', body(uid));
  expect(res.status).toBe(202);
  const token = await tickets.token('office1');
  const stream = await fetch(`${cluster.url}${res.body.events_url}`, { headers: { authorization: `Negotiate ${token}`, accept: 'text/event-stream' } });
  expect(stream.headers.get('content-type')).toMatch(/text\/event-stream/);
  const text = await stream.text(); // ends after the final event
  const ids = [...text.matchAll(/^id: (\S+)$/gm)].map((m) => m[1]!);
  const types = [...text.matchAll(/^event: (\w+)$/gm)].map((m) => m[1]);
  expect(types[types.length - 1]).toBe('completed');
  expect(types.filter((t) => t === 'step_completed')).toHaveLength(8);

  // Reconnecting with Last-Event-ID gets exactly what came after it.
  const resumed = await fetch(`${cluster.url}${res.body.events_url}`, {
    headers: { authorization: `Negotiate ${await tickets.token('office1')}`, 'last-event-id': ids[ids.length - 3]! },
  });
  const again = [...(await resumed.text()).matchAll(/^id: (\S+)$/gm)].map((m) => m[1]);
  expect(again).toEqual(ids.slice(-2));
  await expectFullyCreated(uid);
}, 60_000);

test('a second create of the same uid is a 409 naming the first job; an Idempotency-Key returns the original', async () => {
  const uid = newUid();
  const first = await call(cluster, tickets, 'office1', 'POST', '/api/members', body(uid), { 'idempotency-key': `k-${uid}` });
  expect(first.status).toBe(202);
  const dup = await call(cluster, tickets, 'ctdalek', 'POST', '/api/members', body(uid));
  expect(dup.status).toBe(409);
  const retried = await call(cluster, tickets, 'office1', 'POST', '/api/members', body(uid), { 'idempotency-key': `k-${uid}` });
  expect(retried.status).toBe(202);
  expect(retried.body.id).toBe(first.body.id);
  if (dup.body.error.job_id) expect(dup.body.error.job_id).toBe(first.body.id);
  await waitForJob(cluster, tickets, 'office1', first.body.id);
  // After it completed, the uid is taken: still a 409, now from the directory.
  expect((await call(cluster, tickets, 'ctdalek', 'POST', '/api/members', body(uid))).status).toBe(409);
  // The same key after completion still returns the original job.
  const late = await call(cluster, tickets, 'office1', 'POST', '/api/members', body(uid), { 'idempotency-key': `k-${uid}` });
  expect(late.body.id).toBe(first.body.id);
}, 60_000);

test('20 concurrent creates get 20 distinct uid numbers', async () => {
  const uids = Array.from({ length: 20 }, newUid);
  const posted = await Promise.all(uids.map((u) => call(cluster, tickets, 'ctdalek', 'POST', '/api/members', body(u))));
  expect(posted.map((p) => p.status)).toEqual(Array(20).fill(202));
  const jobs = await Promise.all(posted.map((p) => waitForJob(cluster, tickets, 'ctdalek', p.body.id, 120_000)));
  expect(jobs.map((j) => j.state)).toEqual(Array(20).fill('completed'));
  const numbers = await Promise.all(uids.map(async (u) => Number((await ldapUsers(stack, u))[0]!.uidNumber![0])));
  expect(new Set(numbers).size).toBe(20);
}, 180_000);

test('Mailman down: the list step retries, then completes once Mailman is back', async () => {
  const uid = newUid();
  await stopService(stack, 'mailman');
  let id = '';
  try {
    const res = await call(cluster, tickets, 'ctdalek', 'POST', '/api/members', body(uid));
    expect(res.status).toBe(202);
    id = res.body.id;
    await waitFor(
      async () => (await call(cluster, tickets, 'ctdalek', 'GET', `/api/jobs/${id}`)).body.steps[6].state === 'retrying',
      60_000,
      'the list step to retry',
    );
  } finally {
    await startService(stack, 'mailman');
  }
  const job = await waitForJob(cluster, tickets, 'ctdalek', id, 90_000);
  expect(job.state).toBe('completed');
  expect(job.steps[6].attempts).toBeGreaterThan(1);
  expect(job.steps[6].error).toBeUndefined();
  await expectFullyCreated(uid);
}, 180_000);

test('a permanent failure in a late step rolls back everything before it, in every system', async () => {
  const uid = newUid();
  let freed = 0;
  // Point the mail host at a list that does not exist: subscribe fails for good.
  const ini = parse(readFileSync(cluster.configs.mail, 'utf8'));
  const original = stringify(ini);
  ini.mailman.new_member_list = 'no-such-list';
  writeFileSync(cluster.configs.mail, stringify(ini));
  await cluster.kill('mail');
  await cluster.start('mail');
  try {
    const res = await call(cluster, tickets, 'ctdalek', 'POST', '/api/members', body(uid));
    const job = await waitForJob(cluster, tickets, 'ctdalek', res.body.id, 60_000);
    expect(job.state).toBe('rolled_back');
    expect(job.error).toMatchObject({ code: 'MAILMAN_NO_SUCH_LIST', step: 'subscribe_new_member_list' });
    expect(job.undone).toEqual(['create_home', 'add_principal', 'add_personal_group', 'add_ldap_user']);
    expect(job.result.password).toBeUndefined();
    freed = job.result.uidNumber;
    await expectNothingLeft(uid);
  } finally {
    writeFileSync(cluster.configs.mail, original);
    await cluster.kill('mail');
    await cluster.start('mail');
  }
  // The rolled-back job's uid number is free again, and the allocator finds it
  // (it is at most that number: the lowest free one is taken).
  const next = newUid();
  const res = await call(cluster, tickets, 'ctdalek', 'POST', '/api/members', body(next));
  const job = await waitForJob(cluster, tickets, 'ctdalek', res.body.id, 60_000);
  expect(job.state).toBe('completed');
  expect(job.result.uidNumber).toBeLessThanOrEqual(freed);
}, 120_000);

test('SIGKILL of the admin worker in the middle of a step: the job completes after a restart, with one of everything', async () => {
  const uid = newUid();
  // Freeze kadmind so add_principal is in flight (its request sent, no answer) when the worker dies.
  const kadmindPid = Number(readFileSync(join(stack.dir, 'run', 'kadmind.pid'), 'utf8').trim());
  process.kill(kadmindPid, 'SIGSTOP');
  let id = '';
  try {
    const res = await call(cluster, tickets, 'ctdalek', 'POST', '/api/members', body(uid));
    id = res.body.id;
    await waitFor(async () => (await call(cluster, tickets, 'ctdalek', 'GET', `/api/jobs/${id}`)).body.steps[2].state === 'running', 20_000, 'add_principal to start');
    expect(await cluster.kill('admin', 'SIGKILL')).toBeNull();
  } finally {
    process.kill(kadmindPid, 'SIGCONT');
  }
  await cluster.start('admin');
  const job = await waitForJob(cluster, tickets, 'ctdalek', id, 90_000);
  expect(job.state).toBe('completed');
  expect(job.steps[2].attempts).toBeGreaterThanOrEqual(2);
  expect(await ldapUsers(stack, uid)).toHaveLength(1);
  expect(await ldapGroups(stack, uid)).toHaveLength(1);
  await expectFullyCreated(uid);
  // The password the requester sees is the one the principal has.
  const kinit = await new Promise<string>((resolve) => {
    const child = execFile('kinit', [uid], { env: { ...tickets.env(), KRB5CCNAME: `FILE:${cluster.dir}/cc-${uid}` } }, (_e, out, err) => resolve(out + err));
    child.stdin!.end(`${job.result.password}\n`);
  });
  expect(kinit).toMatch(/Password expired|must change/i);
}, 150_000);

test('SIGTERM: a worker finishes the step in hand and exits 0', async () => {
  expect(await cluster.kill('fs', 'SIGTERM')).toBe(0);
  expect(cluster.logs('fs')).toContain('stopping');
  await cluster.start('fs');
});

describe("the original client's request, as it is", () => {
  // What office staff and scripts send today: curl -d (form content type), a forwarded TGT, no given_name or sn.
  const term = termOf(new Date());
  const data = JSON.stringify({ uid: 'test_1', cn: 'Test One', program: 'Math', terms: [term] });
  const cred = randomBytes(1200).toString('base64');
  const env = () => ({ ...tickets.env(), KRB5CCNAME: tickets.ccache });
  const curl = async (extra: string[]) => {
    await exec('kswitch', ['-p', 'office1'], { env: env() });
    const { stdout } = await exec('curl', ['-sS', '-w', '\n%{http_code}', '--negotiate', '-u', ':', '--service-name', 'ceod', '-H', `X-KRB5-CRED: ${cred}`, ...extra, '-d', data, '-X', 'POST', `${cluster.url}/api/members`], { env: env() });
    const [json, status] = stdout.split('\n');
    return { status: Number(status), body: JSON.parse(json!) };
  };
  const deleteTest1 = async () => {
    if ((await ldapUsers(stack, 'test_1')).length === 0) return;
    const res = await call(cluster, tickets, 'ctdalek', 'DELETE', '/api/members/test_1');
    expect((await waitForJob(cluster, tickets, 'ctdalek', res.body.id)).state).toBe('completed');
  };

  beforeAll(deleteTest1, 60_000);
  afterAll(deleteTest1, 60_000);

  test('from a foreign web page (Origin), the same request is refused before authentication, and nothing is made', async () => {
    const before = await enqueuedCount();
    const res = await curl(['-H', 'Origin: https://evil.example']);
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('FORBIDDEN');
    expect(await enqueuedCount()).toBe(before);
    expect(await ldapUsers(stack, 'test_1')).toEqual([]);
  });

  test('curl --negotiate -H "X-KRB5-CRED: …" -d \'{"uid":"test_1",…}\' -X POST creates the member; the credential is never logged or kept', async () => {
    const res = await curl([]);
    expect(res.status).toBe(202);
    const job = await waitForJob(cluster, tickets, 'office1', res.body.id);
    expect(job.state).toBe('completed');
    expect(job.payload).toMatchObject({ uid: 'test_1', cn: 'Test One', given_name: 'Test', sn: 'One', program: 'Math', terms: [term] });
    const [user] = await ldapUsers(stack, 'test_1');
    expect(user).toMatchObject({ cn: ['Test One'], givenName: ['Test'], sn: ['One'], program: ['Math'], term: [term] });
    expect((await principal(stack, 'test_1'))!.attributes).toContain('REQUIRES_PWCHANGE');
    expect(await home(stack, 'test_1')).toMatchObject({ isDir: true, uid: Number(user!.uidNumber![0]) });
    expect(await mailmanMembers(stack, 'csc-general')).toContain(`test_1@${stack.baseDomain}`);
    for (const name of ['api', 'admin', 'fs', 'mail', 'db'] as const) expect(cluster.logs(name)).not.toContain(cred);
    for (const key of await redis.keys(`${cluster.prefix}:*`)) {
      const type = await redis.type(key);
      const dump = type === 'string' ? await redis.get(key) : type === 'hash' ? JSON.stringify(await redis.hgetall(key)) : type === 'stream' ? JSON.stringify(await redis.xrange(key, '-', '+')) : '';
      expect(dump ?? '').not.toContain(cred.slice(0, 40));
    }
  }, 90_000);
});
