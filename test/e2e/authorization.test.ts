/**
 * The authorization matrix (docs/authorization.md) as one table: every API route × {no
 * ticket, invalid token, regular1 on self, regular1 on someone else, office1,
 * ctdalek} → the expected status, with no job enqueued on any 4xx; then the
 * same four callers again with the session cookie their handshake set instead
 * of a token, and a tampered cookie. The route
 * list comes from the app itself (buildApp records every route it registers),
 * so a route added without a row here fails the first test.
 */
import IORedis, { type Redis } from 'ioredis';
import { buildApp } from '../../src/api/app';
import { loadConfig } from '../../src/config/load';
import { createLogger } from '../../src/core/log';
import { call, type CeodCluster, jobCount as countJobs, startCeod, Tickets, waitForJob, seedTickets } from '../helpers/ceod';
import { redisAuth, testStack } from '../helpers/stack';

const stack = testStack();
const newUid = () => `z${Math.random().toString(36).slice(2, 8).replace(/[^a-z0-9]/g, 'x')}`;
const person = (uid: string) => ({ uid, cn: `Authz ${uid}`, given_name: 'Authz', sn: uid, terms: ['f2099'] });

type Column = 'self' | 'other' | 'office' | 'syscom';
/** Who the request targets in each column: the caller's own account/job, or someone else's. */
interface Targets {
  uid: string;
  job: string;
  /** What the delete rows delete in this column (each can be deleted once). */
  doomed: string;
  doomedClub: string;
}
interface Row {
  path: (t: Targets) => string;
  body?: () => unknown;
  headers?: Record<string, string>;
  expect: Record<Column, number>;
}

let victim: string; // someone else's account, for writes that must not touch seed users
let doomed: string; // deleted by ctdalek's cell
let doomed2: string; // deleted by ctdalek's cookie cell
let regularJob: string; // a job regular1 asked for
let otherJob: string; // a job ctdalek asked for
let club: string; // a club whose members the membership rows change
let doomedClub: string; // deleted by ctdalek's cell
let doomedClub2: string; // deleted by ctdalek's cookie cell

/** One row per route, keyed `METHOD url` exactly as Fastify registered it. */
const TABLE: Record<string, Row> = {
  'POST /api/members': { path: () => '/api/members', body: () => person(newUid()), expect: { self: 403, other: 403, office: 202, syscom: 202 } },
  'GET /api/members': { path: () => '/api/members?term=f2099&limit=5', expect: { self: 200, other: 200, office: 200, syscom: 200 } },
  'GET /api/members/:uid': { path: (t) => `/api/members/${t.uid}`, expect: { self: 200, other: 200, office: 200, syscom: 200 } },
  'PATCH /api/members/:uid': { path: (t) => `/api/members/${t.uid}`, body: () => ({ login_shell: '/bin/bash' }), expect: { self: 202, other: 403, office: 403, syscom: 202 } },
  'POST /api/members/:uid/renew': { path: (t) => `/api/members/${t.uid}/renew`, body: () => ({ terms: ['f2099'] }), expect: { self: 403, other: 403, office: 202, syscom: 202 } },
  'POST /api/members/:uid/pwreset': { path: (t) => `/api/members/${t.uid}/pwreset`, expect: { self: 403, other: 403, office: 202, syscom: 202 } },
  'DELETE /api/members/:uid': { path: (t) => `/api/members/${t.uid === victim ? t.doomed : t.uid}`, expect: { self: 403, other: 403, office: 403, syscom: 202 } },
  'POST /api/members/expire': { path: () => '/api/members/expire', body: () => ({ dry_run: true }), expect: { self: 403, other: 403, office: 403, syscom: 200 } },
  'POST /api/members/renew': { path: () => '/api/members/renew', body: () => ({ uids: ['regular1'], terms: ['f2099'], dry_run: true }), expect: { self: 403, other: 403, office: 403, syscom: 200 } },
  'POST /api/groups': { path: () => '/api/groups', body: () => ({ cn: newUid(), description: 'Authz Club' }), expect: { self: 403, other: 403, office: 403, syscom: 202 } },
  'GET /api/groups': { path: () => '/api/groups?search=sys', expect: { self: 200, other: 200, office: 200, syscom: 200 } },
  'GET /api/groups/:cn': { path: () => '/api/groups/syscom', expect: { self: 200, other: 200, office: 200, syscom: 200 } },
  'DELETE /api/groups/:cn': { path: (t) => `/api/groups/${t.doomedClub}`, expect: { self: 403, other: 403, office: 403, syscom: 202 } },
  'POST /api/groups/:cn/members/:uid': { path: (t) => `/api/groups/${club}/members/${t.uid}`, expect: { self: 403, other: 403, office: 403, syscom: 202 } },
  'DELETE /api/groups/:cn/members/:uid': { path: (t) => `/api/groups/${club}/members/${t.uid}`, expect: { self: 403, other: 403, office: 403, syscom: 202 } },
  'GET /api/positions': { path: () => '/api/positions', expect: { self: 200, other: 200, office: 200, syscom: 200 } },
  'POST /api/positions': {
    path: () => '/api/positions',
    body: () => ({ president: victim, 'vice-president': victim, sysadmin: victim }),
    expect: { self: 403, other: 403, office: 403, syscom: 202 },
  },
  'POST /api/mailman/:list/:uid': { path: (t) => `/api/mailman/csc-general/${t.uid}`, expect: { self: 202, other: 403, office: 202, syscom: 202 } },
  'DELETE /api/mailman/:list/:uid': { path: (t) => `/api/mailman/csc-general/${t.uid}`, expect: { self: 202, other: 403, office: 202, syscom: 202 } },
  'GET /api/jobs/:id': { path: (t) => `/api/jobs/${t.job}`, expect: { self: 200, other: 403, office: 200, syscom: 200 } },
  'GET /api/jobs/:id/events': { path: (t) => `/api/jobs/${t.job}/events`, headers: { accept: 'text/event-stream' }, expect: { self: 200, other: 403, office: 200, syscom: 200 } },
};

/** Session cookies by uid, from one handshake each (beforeAll). */
const cookies: Record<string, string> = {};

interface ColumnDef {
  name: string;
  /** Whose ticket authenticates the request (null: none). */
  as: string | null;
  /** The column of the table whose expectation applies; absent for the 401 columns. */
  expect?: Column;
  /** Authenticate with `as`'s session cookie instead of a fresh token. */
  cookie?: boolean;
  headers?: () => Record<string, string>;
  target: () => Targets;
}

const mine = (): Targets => ({ uid: 'regular1', job: regularJob, doomed, doomedClub });
const others = (): Targets => ({ uid: victim, job: otherJob, doomed, doomedClub });

const COLUMNS: ColumnDef[] = [
  { name: 'no ticket', as: null, target: mine },
  { name: 'invalid token', as: null, headers: () => ({ authorization: 'Negotiate YWJjZGVm' }), target: mine },
  { name: 'self', as: 'regular1', expect: 'self', target: mine },
  { name: 'other', as: 'regular1', expect: 'other', target: others },
  { name: 'office', as: 'office1', expect: 'office', target: others },
  { name: 'syscom', as: 'ctdalek', expect: 'syscom', target: others },
  { name: 'tampered cookie', as: null, headers: () => ({ cookie: `ceod_session=${tamper(cookies.ctdalek!)}` }), target: mine },
  { name: 'self (cookie)', as: 'regular1', expect: 'self', cookie: true, target: mine },
  { name: 'other (cookie)', as: 'regular1', expect: 'other', cookie: true, target: others },
  { name: 'office (cookie)', as: 'office1', expect: 'office', cookie: true, target: others },
  { name: 'syscom (cookie)', as: 'ctdalek', expect: 'syscom', cookie: true, target: () => ({ ...others(), doomed: doomed2, doomedClub: doomedClub2 }) },
];

/** The cookie with one character of its signature changed. */
function tamper(value: string): string {
  return value.slice(0, -1) + (value.endsWith('A') ? 'B' : 'A');
}

let cluster: CeodCluster;
let tickets: Tickets;
let redis: Redis;
const jobCount = () => countJobs(redis, cluster);

beforeAll(async () => {
  tickets = await seedTickets(stack);
  cluster = await startCeod(stack, { name: 'authz' });
  redis = new IORedis(stack.redis.url, redisAuth(stack));
  victim = newUid();
  doomed = newUid();
  doomed2 = newUid();
  for (const uid of [victim, doomed, doomed2]) {
    const res = await call(cluster, tickets, 'ctdalek', 'POST', '/api/members', person(uid));
    otherJob = res.body.id;
    expect((await waitForJob(cluster, tickets, 'ctdalek', otherJob)).state).toBe('completed');
  }
  club = newUid();
  doomedClub = newUid();
  doomedClub2 = newUid();
  for (const cn of [club, doomedClub, doomedClub2]) {
    const res = await call(cluster, tickets, 'ctdalek', 'POST', '/api/groups', { cn, description: `Authz ${cn}` });
    expect((await waitForJob(cluster, tickets, 'ctdalek', res.body.id)).state).toBe('completed');
  }
  const mine = await call(cluster, tickets, 'regular1', 'PATCH', '/api/members/regular1', { forwarding_addresses: ['regular1@example.org'] });
  regularJob = mine.body.id;
  expect((await waitForJob(cluster, tickets, 'regular1', regularJob)).state).toBe('completed');
  for (const uid of ['regular1', 'office1', 'ctdalek']) {
    const res = await call(cluster, tickets, uid, 'GET', `/api/members/${uid}`);
    cookies[uid] = /^ceod_session=([^;]+)/.exec(res.headers.getSetCookie().join('\n'))![1]!;
  }
}, 120_000);

afterAll(async () => {
  await cluster?.stop();
  redis?.disconnect();
});

test('the table has exactly one row per API route', async () => {
  const config = loadConfig(stack.configs.api);
  const app = await buildApp({ config, log: createLogger({ level: 'silent', host: 'test', process: 'test' }), authenticate: async () => ({ principal: 'x' }) } as never);
  await app.ready();
  const routes = app.ceodRoutes.filter((r) => r.url.startsWith('/api')).map((r) => `${r.method} ${r.url}`);
  await app.close();
  expect([...new Set(routes)].sort()).toEqual(Object.keys(TABLE).sort());
});

describe.each(Object.entries(TABLE))('%s', (route, row) => {
  test.each(COLUMNS.map((c) => [c.name, c] as const))('%s', async (_name, col) => {
    const expected = col.expect ? row.expect[col.expect] : 401;
    const method = route.split(' ')[0]!;
    const before = await jobCount();
    const auth = col.cookie ? { cookie: `ceod_session=${cookies[col.as!]}` } : col.headers?.();
    const res = await call(cluster, tickets, col.cookie ? null : col.as, method, row.path(col.target()), row.body?.(), { ...row.headers, ...auth });
    expect([route, col.name, res.status]).toEqual([route, col.name, expected]);
    if (res.status >= 400) {
      expect(await jobCount()).toBe(before);
      if (res.status === 403) expect(res.body.error.code).toBe('FORBIDDEN');
    }
    // Let each accepted job finish, so the next cell does not meet the member lock (409).
    if (res.status === 202) expect((await waitForJob(cluster, tickets, col.as!, res.body.id)).state).toBe('completed');
  }, 60_000);
});
