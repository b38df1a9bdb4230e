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
let other: CeodCluster; // a second API host, sharing nothing with the first but the config's secrets key
let tickets: Tickets;

beforeAll(async () => {
  tickets = await seedTickets(stack);
  cluster = await startCeod(stack, { name: 'session' });
  other = await startCeod(stack, { name: 'session2', procs: ['api'] });
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
