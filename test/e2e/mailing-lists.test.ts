/**
 * Mailing list subscriptions end to end: `POST|DELETE /api/mailman/:list/:uid`
 * through the API and the mail worker as processes, checked in Mailman's own
 * roster afterwards. This file makes its own lists (random names) and deletes
 * them afterwards.
 */
import { request } from 'node:https';
import IORedis, { type Redis } from 'ioredis';
import { call, type CeodCluster, jobCount as countJobs, runJob, startCeod, Tickets, waitForJob, seedTickets } from '../helpers/ceod';
import { redisAuth, testStack } from '../helpers/stack';
import { mailmanMembers } from '../helpers/verify';

const stack = testStack();
const suffix = Array.from({ length: 6 }, () => String.fromCharCode(97 + Math.floor(Math.random() * 26))).join('');
const list = `t${suffix}-e2e`;
/** Deleted behind the API's back by one test. */
const doomedList = `t${suffix}-doomed`;
/** Moderated and unadvertised: not for members to join on their own. */
const closedList = `t${suffix}-closed`;
const domain = stack.mailman.listDomain;
const address = (uid: string) => `${uid}@${stack.baseDomain}`;
const auth = 'Basic ' + Buffer.from(`${stack.mailman.user}:${stack.mailman.password}`).toString('base64');

/** Mailman REST directly, for setup and cleanup. */
async function rest(method: string, path: string, form?: Record<string, string>): Promise<number> {
  const res = await fetch(stack.mailman.url + path, {
    method,
    headers: { authorization: auth, ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
    ...(form ? { body: new URLSearchParams(form).toString() } : {}),
  });
  await res.text();
  return res.status;
}

let cluster: CeodCluster;
let tickets: Tickets;
let redis: Redis;

beforeAll(async () => {
  tickets = await seedTickets(stack);
  for (const l of [list, doomedList, closedList]) expect(await rest('POST', '/lists', { fqdn_listname: `${l}@${domain}` })).toBe(201);
  expect(await rest('PATCH', `/lists/${closedList}.${domain}/config`, { subscription_policy: 'moderate', advertised: 'false' })).toBe(204);
  cluster = await startCeod(stack, { name: 'lists' });
  redis = new IORedis(stack.redis.url, redisAuth(stack));
}, 60_000);

afterAll(async () => {
  for (const l of [list, doomedList, closedList]) await rest('DELETE', `/lists/${l}.${domain}`).catch(() => undefined);
  await cluster?.stop();
  redis?.disconnect();
});

const jobCount = () => countJobs(redis, cluster);

const run = (as: string, method: string, path: string) => runJob(cluster, tickets, as, method, path);

/** `status` for the request, and nothing enqueued. */
async function refused(as: string, method: string, path: string, status: number) {
  const before = await jobCount();
  const res = await call(cluster, tickets, as, method, path);
  expect([method, path, res.status]).toEqual([method, path, status]);
  expect(await jobCount()).toBe(before);
  return res.body;
}

/**
 * A request with the path sent exactly as written: fetch would resolve `..`
 * and `%2e%2e` segments itself, and the point is what the server does with them.
 */
async function rawStatus(as: string, method: string, path: string): Promise<number> {
  const token = await tickets.token(as);
  const url = new URL(cluster.url);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, method, path, headers: { authorization: `Negotiate ${token}` } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode!));
    });
    req.on('error', reject);
    req.end();
  });
}

test('a member subscribes and unsubscribes themself; doing either twice is no error', async () => {
  const job = await run('regular1', 'POST', `/api/mailman/${list}/regular1`);
  expect(job.steps.map((s: any) => [s.name, s.role])).toEqual([['subscribe', 'mail']]);
  expect(job.type).toBe('subscribe_list');
  expect(await mailmanMembers(stack, list)).toEqual([address('regular1')]);
  await run('regular1', 'POST', `/api/mailman/${list}/regular1`);
  expect(await mailmanMembers(stack, list)).toEqual([address('regular1')]);

  const left = await run('regular1', 'DELETE', `/api/mailman/${list}/regular1`);
  expect(left.type).toBe('unsubscribe_list');
  expect(left.result.was_subscribed).toBe(true);
  expect(await mailmanMembers(stack, list)).toEqual([]);
  const again = await run('regular1', 'DELETE', `/api/mailman/${list}/regular1`);
  expect(again.result.was_subscribed).toBe(false);
}, 90_000);

test('staff change anyone’s subscriptions; a member only their own', async () => {
  await run('office1', 'POST', `/api/mailman/${list}/regular1`);
  await run('ctdalek', 'POST', `/api/mailman/${list}/office1`);
  expect((await mailmanMembers(stack, list)).sort()).toEqual([address('office1'), address('regular1')]);
  await run('ctdalek', 'DELETE', `/api/mailman/${list}/regular1`);
  expect(await mailmanMembers(stack, list)).toEqual([address('office1')]);

  expect((await refused('regular1', 'POST', `/api/mailman/${list}/office1`, 403)).error.code).toBe('FORBIDDEN');
  expect((await refused('regular1', 'DELETE', `/api/mailman/${list}/office1`, 403)).error.code).toBe('FORBIDDEN');
  expect(await mailmanMembers(stack, list)).toEqual([address('office1')]);
  expect((await refused('office1', 'POST', `/api/mailman/${list}/nosuchuser9`, 404)).error.field).toBe('uid');
}, 90_000);

test('an unknown list is a 404 naming it, before anything is enqueued', async () => {
  for (const method of ['POST', 'DELETE']) {
    const body = await refused('regular1', method, `/api/mailman/t${suffix}-nosuchlist/regular1`, 404);
    expect(body.error).toMatchObject({ code: 'MAILMAN_NO_SUCH_LIST', message: `no mailing list t${suffix}-nosuchlist`, field: 'list' });
  }
});

test('a list deleted after the API checked: the step fails for good at once, naming the list', async () => {
  await cluster.kill('mail');
  let id = '';
  try {
    const res = await call(cluster, tickets, 'regular1', 'POST', `/api/mailman/${doomedList}/regular1`);
    expect(res.status).toBe(202);
    id = res.body.id;
    expect(await rest('DELETE', `/lists/${doomedList}.${domain}`)).toBe(204);
  } finally {
    await cluster.start('mail');
  }
  const job = await waitForJob(cluster, tickets, 'regular1', id);
  expect(['failed', 'rolled_back']).toContain(job.state);
  expect(job.error).toMatchObject({ code: 'MAILMAN_NO_SUCH_LIST', message: `no mailing list ${doomedList}`, step: 'subscribe' });
  expect(job.steps[0].attempts).toBe(1);
}, 90_000);

test.each([
  '../x',
  'a/b',
  '%2e%2e',
  '%2E%2E%2Fx',
  '..%2Fsystem',
  'a%2Fb',
  '.hidden',
  'UPPER',
  'a%20b',
  '%00',
  'csc-general%3Fx=1',
  'x'.repeat(65),
])('the hostile list name %j is a 400 or 404, never a 5xx, and nothing is enqueued', async (name) => {
  const before = await jobCount();
  for (const method of ['POST', 'DELETE']) {
    const status = await rawStatus('ctdalek', method, `/api/mailman/${name}/regular1`);
    expect([method, name, [400, 404].includes(status) ? 'refused' : status]).toEqual([method, name, 'refused']);
  }
  expect(await jobCount()).toBe(before);
});

test('a hostile uid is a 400', async () => {
  for (const uid of ['..%2Fctdalek', 'Regular1', 'root', '%2e%2e']) {
    expect([uid, await rawStatus('ctdalek', 'POST', `/api/mailman/${list}/${uid}`)]).toEqual([uid, 400]);
  }
});

test('a member may not put themself on a moderated, unadvertised list (403, nothing enqueued, nothing held); staff may', async () => {
  const body = await refused('regular1', 'POST', `/api/mailman/${closedList}/regular1`, 403);
  expect(body.error).toMatchObject({ code: 'FORBIDDEN', field: 'list' });
  expect(await mailmanMembers(stack, closedList)).not.toContain(address('regular1'));
  // No subscription request held for a moderator either.
  const held = await fetch(`${stack.mailman.url}/lists/${closedList}.${domain}/requests`, { headers: { authorization: auth } });
  expect(((await held.json()) as { total_size?: number }).total_size ?? 0).toBe(0);
  // The seeded syscom list is the same: moderated and hidden.
  await refused('regular1', 'POST', '/api/mailman/syscom/regular1', 403);
  // Staff keep the pre-approved path.
  expect((await run('office1', 'POST', `/api/mailman/${closedList}/regular1`)).state).toBe('completed');
  expect(await mailmanMembers(stack, closedList)).toContain(address('regular1'));
  // Leaving is always the member's own business.
  expect((await run('regular1', 'DELETE', `/api/mailman/${closedList}/regular1`)).state).toBe('completed');
  expect(await mailmanMembers(stack, closedList)).not.toContain(address('regular1'));
}, 60_000);
