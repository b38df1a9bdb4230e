/**
 * The session cookie end to end: a real SPNEGO handshake against the API
 * process sets `ceod_session`; the cookie alone then authenticates the same
 * user on this API host and on another one (the key comes from the secrets key
 * every host shares); a tampered cookie is a 401 with a Negotiate challenge;
 * `curl --negotiate -c jar -b jar` negotiates once and then rides the cookie.
 * The authorization matrix with cookies is in authorization.test.ts.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { call, type CeodCluster, exec, seedTickets, startCeod, type Tickets, waitForJob } from '../helpers/ceod';
import { testStack } from '../helpers/stack';

const stack = testStack();
let cluster: CeodCluster;
let other: CeodCluster; // a second API host: the same secrets key and Redis as the first, as every host of a deployment
let tickets: Tickets;

beforeAll(async () => {
  tickets = await seedTickets(stack);
  cluster = await startCeod(stack, { name: 'session' });
  other = await startCeod(stack, { name: 'session2', procs: ['api'], edits: { api: { redis: { prefix: cluster.prefix } } } });
}, 120_000);

afterAll(async () => {
  await other?.stop();
  await cluster?.stop();
});

/** The ceod_session value of a response's Set-Cookie, and the header itself. */
function sessionCookie(headers: Headers): { value: string; header: string } {
  const header = headers.getSetCookie().find((c) => c.startsWith('ceod_session='));
  if (!header) throw new Error(`no ceod_session cookie in ${JSON.stringify([...headers])}`);
  return { value: /^ceod_session=([^;]*)/.exec(header)![1]!, header };
}

const withCookie = (value: string) => ({ cookie: `ceod_session=${value}` });

test('a handshake sets the cookie; the cookie alone then acts as the same user, on any API host', async () => {
  const first = await call(cluster, tickets, 'regular1', 'GET', '/api/members/regular1');
  expect(first.status).toBe(200);
  const { value, header } = sessionCookie(first.headers);
  expect(header).toMatch(/; Max-Age=\d+; Path=\/api; HttpOnly; SameSite=Strict; Secure$/);

  // Only the cookie: still regular1 (forwarding addresses are shown only to the member themself and syscom).
  const second = await call(cluster, tickets, null, 'GET', '/api/members/regular1', undefined, withCookie(value));
  expect(second.status).toBe(200);
  expect(second.body.uid).toBe('regular1');
  expect(second.body).toHaveProperty('forwarding_addresses');
  expect(second.headers.getSetCookie()).toEqual([]);

  // A write with the cookie is regular1's job.
  const patch = await call(cluster, tickets, null, 'PATCH', '/api/members/regular1', { login_shell: '/bin/bash' }, withCookie(value));
  expect(patch.status).toBe(202);
  const job = await waitForJob(cluster, tickets, 'regular1', patch.body.id);
  expect([job.state, job.requester]).toEqual(['completed', 'regular1']);

  // Another API host accepts it too, and it still carries no staff rights.
  const elsewhere = await call(other, tickets, null, 'GET', '/api/members/regular1', undefined, withCookie(value));
  expect([elsewhere.status, elsewhere.body.uid]).toEqual([200, 'regular1']);
  const refused = await call(other, tickets, null, 'POST', '/api/members/regular1/pwreset', {}, withCookie(value));
  expect([refused.status, refused.body.error.code]).toEqual([403, 'FORBIDDEN']);
});

test('a tampered or garbage cookie is a 401 with a Negotiate challenge, never a 500, and its value is not logged', async () => {
  const { value } = sessionCookie((await call(cluster, tickets, 'regular1', 'GET', '/api/members/regular1')).headers);
  const [v, body, sig] = value.split('.') as [string, string, string];
  const claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
  const promoted = Buffer.from(JSON.stringify({ ...claims, p: `ctdalek@${stack.realm}`, u: 'ctdalek' })).toString('base64url');
  // The first character of the signature: the last one of 43 base64url characters carries 2 padding bits,
  // so A→B there (or B→A) can decode to the same 32 bytes, a signature that still verifies.
  const firstChar = sig.startsWith('A') ? 'B' : 'A';
  const bad = [`${v}.${promoted}.${sig}`, `${v}.${body}.${firstChar}${sig.slice(1)}`, 'garbage', `${value}.x`, 'v1.%00.%2F', ''];
  for (const cookie of bad) {
    const res = await call(cluster, tickets, null, 'GET', '/api/members/regular1', undefined, withCookie(cookie));
    expect([cookie, res.status, res.body.error?.code]).toEqual([cookie, 401, 'UNAUTHENTICATED']);
    expect(res.headers.get('www-authenticate')).toBe('Negotiate');
  }
  // A Negotiate header wins: a bad token with a good cookie is still a 401.
  const both = await call(cluster, tickets, null, 'GET', '/api/members/regular1', undefined, { authorization: 'Negotiate YWJjZGVm', ...withCookie(value) });
  expect(both.status).toBe(401);
  const log = cluster.logs('api');
  expect(log).toContain('session cookie refused');
  for (const secret of [value, sig, promoted]) expect(log).not.toContain(secret);
});

test('curl --negotiate with a cookie jar negotiates once, then uses the cookie', async () => {
  const jar = join(mkdtempSync(join(tmpdir(), 'ceod-jar-')), 'jar');
  const env = { ...tickets.env(), KRB5CCNAME: tickets.ccache };
  await exec('kswitch', ['-p', 'ctdalek'], { env });
  const curl = async (...args: string[]) => {
    const { stdout } = await exec('curl', ['-sS', '-c', jar, '-b', jar, '-w', '\n%{http_code}', ...args], { env });
    const lines = stdout.split('\n');
    return { status: lines.pop(), body: lines.join('\n') };
  };
  const first = await curl('--negotiate', '-u', ':', '--service-name', 'ceod', `${cluster.url}/api/members/ctdalek`);
  expect(first.status).toBe('200');
  expect(readFileSync(jar, 'utf8')).toMatch(/#HttpOnly_localhost\tFALSE\t\/api\tTRUE\t\d+\tceod_session\tv1\./);
  // No --negotiate: the cookie alone.
  const second = await curl(`${cluster.url}/api/members/ctdalek`);
  expect(second.status).toBe('200');
  expect(JSON.parse(second.body).uid).toBe('ctdalek');
  // Without the jar, the same request is a 401.
  const { stdout } = await exec('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', `${cluster.url}/api/members/ctdalek`], { env });
  expect(stdout).toBe('401');
  // A refused cookie in the jar (as an expired one would be): with --negotiate,
  // curl answers the 401's challenge and the jar gets a fresh cookie.
  const stale = readFileSync(jar, 'utf8').replace(/(\tceod_session\tv1\.[^.]+\.)\S+/, '$1AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA');
  writeFileSync(jar, stale);
  const third = await curl('--negotiate', '-u', ':', '--service-name', 'ceod', `${cluster.url}/api/members/ctdalek`);
  expect(third.status).toBe('200');
  const fresh = /\tceod_session\t(\S+)/.exec(readFileSync(jar, 'utf8'))?.[1];
  expect(fresh).toMatch(/^v1\./);
  expect(fresh).not.toMatch(/A{43}$/);
  expect((await curl(`${cluster.url}/api/members/ctdalek`)).status).toBe('200');
}, 60_000);

/**
 * A session ends at once (issue 10): a password reset, a deletion, or leaving
 * a staff group bumps the user's session generation in Redis, and a cookie of
 * an older generation is refused by every API host. The cookies here are
 * signed with the stack's secrets key as a handshake would have issued them
 * (the members are new, without tickets of their own).
 */
test('a password reset, leaving a staff group, or deletion ends the user\'s sessions on every API host', async () => {
  const { deriveSessionKey, signSession } = await import('../../src/api/http/session');
  const key = deriveSessionKey(Buffer.from(readFileSync(stack.secretsKeyFile, 'utf8').trim(), 'base64'));
  const cookieFor = (uid: string) => {
    const iat = Math.floor(Date.now() / 1000);
    return signSession(key, { principal: `${uid}@${stack.realm}`, uid, iat, exp: iat + 600 });
  };
  const uid = `zs${Math.random().toString(36).slice(2, 8).replace(/[^a-z0-9]/g, 'x')}`;
  const run = async (method: string, path: string, body?: unknown) => {
    const res = await call(cluster, tickets, 'ctdalek', method, path, body);
    expect(res.status).toBe(202);
    expect((await waitForJob(cluster, tickets, 'ctdalek', res.body.id)).state).toBe('completed');
  };
  await run('POST', '/api/members', { uid, cn: `Session ${uid}`, given_name: 'S', sn: uid, terms: ['f2099'] });
  const read = (c: CeodCluster, cookie: string) => call(c, tickets, null, 'GET', `/api/members/${uid}`, undefined, withCookie(cookie)).then((r) => r.status);

  let cookie = cookieFor(uid);
  expect([await read(cluster, cookie), await read(other, cookie)]).toEqual([200, 200]);
  await run('POST', `/api/members/${uid}/pwreset`);
  expect([await read(cluster, cookie), await read(other, cookie)]).toEqual([401, 401]);

  // A cookie issued after the reset (under the new generation) works; leaving office ends it.
  await run('POST', `/api/groups/office/members/${uid}?subscribe_to_lists=false`);
  const { redisAuth } = await import('../helpers/stack');
  const IORedis = (await import('ioredis')).default;
  const redis = new IORedis(stack.redis.url, redisAuth(stack));
  try {
    const current = Number((await redis.get(`${cluster.prefix}:session-gen:${uid}`)) ?? 0);
    const iat = Math.floor(Date.now() / 1000);
    cookie = signSession(key, { principal: `${uid}@${stack.realm}`, uid, iat, exp: iat + 600, gen: current });
    expect(await read(cluster, cookie)).toBe(200);
    await run('DELETE', `/api/groups/office/members/${uid}?unsubscribe_from_lists=false`);
    expect(await read(cluster, cookie)).toBe(401);
    const after = Number((await redis.get(`${cluster.prefix}:session-gen:${uid}`)) ?? 0);
    cookie = signSession(key, { principal: `${uid}@${stack.realm}`, uid, iat, exp: iat + 600, gen: after });
    expect(await read(other, cookie)).toBe(200);
    await run('DELETE', `/api/members/${uid}`);
    expect(await read(other, cookie)).toBe(401);
  } finally {
    redis.disconnect();
  }
}, 120_000);
