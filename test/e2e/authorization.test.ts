/**
 * The authorization matrix (docs/authorization.md) as one table: every API route × {no
 * ticket, invalid token, regular1 on self, regular1 on someone else, office1,
 * ctdalek} → the expected status, with no job enqueued on any 4xx; then the
 * same four callers again with the session cookie their handshake set instead
 * of a token, and a tampered cookie. The route
 * list comes from the app itself (buildApp records every route it registers),
 * so a route added without a row here fails the first test.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import IORedis, { type Redis } from 'ioredis';
import { buildApp } from '../../src/api/app';
import { loadConfig } from '../../src/config/load';
import { createLogger } from '../../src/core/log';
import type { MemberDatabase } from '../../src/core/ports';
import { createMysql } from '../../src/mysql';
import { createPostgresql } from '../../src/postgresql';
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
  /** Before each cell: makes the world the row needs (a database absent for a create, present for a reset). */
  before?: (path: string) => Promise<void>;
}

/** The test stack's database servers, as their admin: the database rows need a database, or none. */
let databases: Record<'mysql' | 'postgresql', MemberDatabase>;
/** The account a database route's path names. */
const pathUid = (path: string) => path.split('/')[4]!;
const dbRows = (kind: 'mysql' | 'postgresql'): Record<string, Row> => ({
  // The member themself or syscom (and a club's group members: test/e2e/databases.test.ts); never office.
  [`POST /api/db/${kind}/:uid`]: {
    path: (t) => `/api/db/${kind}/${t.uid}`,
    expect: { self: 202, other: 403, office: 403, syscom: 202 },
    before: async (path) => void (await databases[kind].drop(pathUid(path))),
  },
  [`POST /api/db/${kind}/:uid/pwreset`]: {
    path: (t) => `/api/db/${kind}/${t.uid}/pwreset`,
    expect: { self: 202, other: 403, office: 403, syscom: 202 },
    before: (path) => databases[kind].create(pathUid(path), 'AuthzPassw0rd12'),
  },
});

let victim: string; // someone else's account, for writes that must not touch seed users
let doomed: string; // deleted by ctdalek's cell
let doomed2: string; // deleted by ctdalek's cookie cell
let regularJob: string; // a job regular1 asked for
let otherJob: string; // a job ctdalek asked for
let club: string; // a club whose members the membership rows change
let doomedClub: string; // deleted by ctdalek's cell
let doomedClub2: string; // deleted by ctdalek's cookie cell
let staffVictim: string; // a member of office: only syscom may change them
let doomedStaff: string; // a member of office, deleted by syscom's cell

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
  // A member lists their own jobs; naming someone else as requester is staff's.
  'GET /api/jobs': { path: (t) => `/api/jobs?requester=${t.uid}&limit=5`, expect: { self: 200, other: 403, office: 200, syscom: 200 } },
  ...dbRows('mysql'),
  ...dbRows('postgresql'),
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

/**
 * The cookie with the first character of its signature changed. Not the last:
 * a 32-byte signature's last base64url character carries 2 padding bits, which
 * decoding ignores, so 'A' → 'B' there changed nothing (the request then
 * succeeded as ctdalek, and DELETE /api/members/regular1 deleted regular1 from
 * the shared test stack, failing every later e2e file: 1 run in 16).
 */
function tamper(value: string): string {
  const i = value.lastIndexOf('.') + 1;
  return value.slice(0, i) + (value[i] === 'A' ? 'B' : 'A') + value.slice(i + 1);
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
  staffVictim = newUid();
  doomedStaff = newUid();
  for (const uid of [staffVictim, doomedStaff]) {
    let res = await call(cluster, tickets, 'ctdalek', 'POST', '/api/members', person(uid));
    expect((await waitForJob(cluster, tickets, 'ctdalek', res.body.id)).state).toBe('completed');
    res = await call(cluster, tickets, 'ctdalek', 'POST', `/api/groups/office/members/${uid}?subscribe_to_lists=false`);
    expect((await waitForJob(cluster, tickets, 'ctdalek', res.body.id)).state).toBe('completed');
  }
  databases = {
    mysql: createMysql({ host: stack.mysql.host, port: stack.mysql.port, user: stack.mysql.adminUser, password: stack.mysql.adminPassword, timeoutMs: 5000, poolSize: 1 }),
    postgresql: createPostgresql({ host: stack.postgres.host, port: stack.postgres.port, user: stack.postgres.adminUser, password: stack.postgres.adminPassword, timeoutMs: 5000, poolSize: 1 }),
  };
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
  for (const db of Object.values(databases ?? {})) {
    for (const uid of ['regular1', victim]) await db.drop(uid).catch(() => undefined);
    await db.close();
  }
  for (const kind of ['mysql', 'postgresql']) for (const f of [`ceo-${kind}-info`, `ceo-${kind}-info.old`]) rmSync(join(stack.homeRoot, 'regular1', f), { force: true });
});

test('the table has exactly one row per API route', async () => {
  const config = loadConfig(stack.configs.api);
  const app = await buildApp({ config, log: createLogger({ level: 'silent', host: 'test', process: 'test' }), authenticate: async () => ({ principal: 'x' }) } as never);
  await app.ready();
  // The public ones (the OpenAPI document; its reference page's assets are hidden) are checked in test/unit/openapi.test.ts.
  const api = app.ceodRoutes.filter((r) => r.url.startsWith('/api') && !r.hidden);
  const routes = api.filter((r) => r.doc?.access !== 'public').map((r) => `${r.method} ${r.url}`);
  await app.close();
  expect([...new Set(routes)].sort()).toEqual(Object.keys(TABLE).sort());
  expect(api.filter((r) => r.doc?.access === 'public').map((r) => `${r.method} ${r.url}`)).toEqual(['GET /api/openapi.json']);
});

describe.each(Object.entries(TABLE))('%s', (route, row) => {
  test.each(COLUMNS.map((c) => [c.name, c] as const))('%s', async (_name, col) => {
    const expected = col.expect ? row.expect[col.expect] : 401;
    const method = route.split(' ')[0]!;
    await row.before?.(row.path(col.target()));
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

/**
 * Staff accounts are syscom's (docs/authorization.md#staff-accounts): office
 * may renew and reset the password of members, but not of an account in
 * office or syscom (else office1 resets ctdalek's password, reads it from the
 * job and becomes syscom). These rows failed before the rule.
 */
describe('accounts in a staff group', () => {
  const STAFF_ROWS: [string, string, (uid: string) => string, unknown, { office: number; syscom: number }][] = [
    ['renew', 'POST', (u) => `/api/members/${u}/renew`, { terms: ['f2099'] }, { office: 403, syscom: 202 }],
    ['pwreset', 'POST', (u) => `/api/members/${u}/pwreset`, undefined, { office: 403, syscom: 202 }],
    ['modify', 'PATCH', (u) => `/api/members/${u}`, { login_shell: '/bin/bash' }, { office: 403, syscom: 202 }],
  ];
  test.each(STAFF_ROWS.flatMap(([name, method, path, body, expect]) => [
    [`office1 ${name} a member of office`, 'office1', method, path, body, expect.office] as const,
    [`ctdalek ${name} a member of office`, 'ctdalek', method, path, body, expect.syscom] as const,
  ]))('%s', async (_name, as, method, path, body, expected) => {
    const before = await jobCount();
    const res = await call(cluster, tickets, as, method, path(staffVictim), body);
    expect(res.status).toBe(expected);
    if (expected === 403) {
      // (modify is the member's own or syscom's anyway: refused by the route's access rule)
      if (method === 'POST') expect(res.body.error.message).toMatch(/only syscom/);
      expect(res.body.error.code).toBe('FORBIDDEN');
      expect(await jobCount()).toBe(before);
    } else {
      expect((await waitForJob(cluster, tickets, as, res.body.id)).state).toBe('completed');
    }
  }, 60_000);

  test('office1 may not reset its own password through the staff route either, but may change its own shell', async () => {
    expect((await call(cluster, tickets, 'office1', 'POST', '/api/members/office1/pwreset')).status).toBe(403);
    const res = await call(cluster, tickets, 'office1', 'PATCH', '/api/members/office1', { login_shell: '/bin/bash' });
    expect(res.status).toBe(202);
    expect((await waitForJob(cluster, tickets, 'office1', res.body.id)).state).toBe('completed');
  }, 60_000);

  test('syscom deletes a staff account; a club account is not deleted through the member route (409 naming the group route)', async () => {
    const del = await call(cluster, tickets, 'ctdalek', 'DELETE', `/api/members/${doomedStaff}`);
    expect(del.status).toBe(202);
    expect((await waitForJob(cluster, tickets, 'ctdalek', del.body.id)).state).toBe('completed');
    const before = await jobCount();
    const asMember = await call(cluster, tickets, 'ctdalek', 'DELETE', `/api/members/${club}`);
    expect(asMember.status).toBe(409);
    expect(asMember.body.error.message).toContain(`DELETE /api/groups/${club}`);
    expect(await jobCount()).toBe(before);
  }, 60_000);
});
