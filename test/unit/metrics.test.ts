/**
 * Metrics without a stack (docs/operations.md#metrics): the allow list, the
 * prom-client adapter's output, the API's `/metrics` by client address, and a
 * worker's metrics server on a loopback socket. The counters moving on real
 * processes are in test/e2e/ops.test.ts.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/api/app';
import { parseConfig } from '../../src/config/load';
import { AllowList, parseAllowEntry } from '../../src/core/allow-list';
import { createLogger } from '../../src/core/log';
import { createPrometheusMetrics } from '../../src/metrics/prometheus';
import { startMetricsServer } from '../../src/metrics/server';
import { exampleConfig, fakeLdap, MemoryJobStore, MemorySessions, negotiateAs, noEvents, person, RecordingQueue, tokenIsUid } from '../fakes/ports';

const log = createLogger({ level: 'silent', host: 'test', process: 'test' });

describe('the allow list', () => {
  it('takes addresses and CIDR blocks, IPv4 and IPv6, and nothing else', () => {
    for (const ok of ['127.0.0.1', '::1', '10.0.0.0/8', 'fd00::/8', '192.168.1.7/32']) expect([ok, parseAllowEntry(ok)]).toEqual([ok, expect.any(Object)]);
    for (const bad of ['', 'localhost', '10.0.0.0/33', '::1/129', '10.0.0.0/8/1', '1.2.3', '*']) expect([bad, parseAllowEntry(bad)]).toEqual([bad, null]);
  });
  it('matches IPv4 clients seen on a dual-stack socket, blocks, and refuses the rest', () => {
    const allow = new AllowList(['127.0.0.1', '10.0.0.0/8', 'fd00::/8']);
    expect(['127.0.0.1', '::ffff:127.0.0.1', '10.20.30.40', '::ffff:10.1.1.1', 'fd00::5'].map((ip) => allow.allows(ip))).toEqual([true, true, true, true, true]);
    expect(['127.0.0.2', '11.0.0.1', '::1', 'fe80::1', '', undefined, 'junk'].map((ip) => allow.allows(ip))).toEqual([false, false, false, false, false, false, false]);
    expect(new AllowList([]).empty).toBe(true);
  });
  it('the config refuses a bad entry, naming the key; metrics_listen may be empty (off)', () => {
    const ini = readFileSync(join(__dirname, '../../etc/ceod.example.ini'), 'utf8');
    expect(() => parseConfig(ini.replace(/^metrics_allow = .*$/m, 'metrics_allow = 10.0.0.0/8, prometheus.example.org'))).toThrow(/ceod\.metrics_allow/);
    expect(parseConfig(ini.replace(/^metrics_listen = .*$/m, 'metrics_listen =')).ceod.metrics_listen).toBeUndefined();
    expect(parseConfig(ini.replace(/^metrics_listen = .*$/m, '')).ceod.metrics_listen).toEqual({ host: '127.0.0.1', port: 9988 });
    expect(parseConfig(ini).ceod.metrics_allow).toEqual(['127.0.0.1', '::1']);
  });
});

describe('the prom-client adapter', () => {
  it('counts and times by the labels it is given, reads gauges at scrape, and keeps Node metrics', async () => {
    const m = createPrometheusMetrics();
    m.jobSubmitted('create_member');
    m.jobSubmitted('create_member');
    m.jobFinished('create_member', 'rolled_back');
    m.stepFinished({ jobType: 'create_member', step: 'add_ldap_user', host: 'h1', phase: 'do', outcome: 'completed', seconds: 0.02 });
    m.stepRetried('create_member', 'LDAP_UNAVAILABLE');
    m.authFailed('cookie_expired');
    m.reconcilerFixed('redispatched');
    m.httpRequest({ method: 'GET', route: '/api/members/:uid', status: 200, seconds: 0.003 });
    let open = 3;
    m.watchEventStreams(() => open);
    m.watchQueues(async () => [{ queue: 'ceod-mail', waiting: 2, active: 1, delayed: 0, failed: 4, oldestWaitingSeconds: 12.5 }]);
    const { contentType, body } = await m.scrape();
    expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(body).toContain('ceod_jobs_submitted_total{job_type="create_member"} 2');
    expect(body).toContain('ceod_jobs_finished_total{job_type="create_member",state="rolled_back"} 1');
    expect(body).toContain('ceod_step_duration_seconds_count{job_type="create_member",step="add_ldap_user",host="h1",phase="do",outcome="completed"} 1');
    expect(body).toContain('ceod_step_retries_total{job_type="create_member",code="LDAP_UNAVAILABLE"} 1');
    expect(body).toContain('ceod_auth_failures_total{reason="cookie_expired"} 1');
    expect(body).toContain('ceod_reconciler_fixes_total{action="redispatched"} 1');
    expect(body).toContain('ceod_http_request_duration_seconds_count{method="GET",route="/api/members/:uid",status="200"} 1');
    expect(body).toContain('ceod_sse_streams_open 3');
    expect(body).toContain('ceod_queue_jobs{queue="ceod-mail",state="waiting"} 2');
    expect(body).toContain('ceod_queue_jobs{queue="ceod-mail",state="failed"} 4');
    expect(body).toContain('ceod_queue_oldest_waiting_seconds{queue="ceod-mail"} 12.5');
    expect(body).toMatch(/^process_cpu_user_seconds_total \d/m);
    open = 1;
    expect((await m.scrape()).body).toContain('ceod_sse_streams_open 1');
  });
  it('a queue source that fails (Redis down) leaves the queue gauges out and is counted; the scrape still answers', async () => {
    const m = createPrometheusMetrics();
    m.watchQueues(async () => {
      throw new Error('Connection is closed.');
    });
    const { body } = await m.scrape();
    expect(body).not.toMatch(/^ceod_queue_jobs\{/m);
    expect(body).toContain('ceod_metrics_collect_errors_total{source="queues"} 1');
  });
  it('each adapter has its own registry', async () => {
    const a = createPrometheusMetrics();
    const b = createPrometheusMetrics();
    a.jobSubmitted('renew_member');
    expect((await b.scrape()).body).not.toContain('renew_member');
  });
});

describe("the API's /metrics", () => {
  let app: FastifyInstance;
  const build = async (allow: string[]) => {
    const config = exampleConfig();
    (config.ceod as { metrics_allow: string[] }).metrics_allow = allow;
    const metrics = createPrometheusMetrics();
    const ldap = fakeLdap([person('regular1')], {});
    return buildApp({ config, store: new MemoryJobStore(), queue: new RecordingQueue(), events: noEvents, sessions: new MemorySessions(), ldap, log, metrics, authenticate: tokenIsUid(config.kerberos.realm) });
  };
  afterEach(() => app?.close());

  it('answers the allowed addresses only, with no credentials; others get 403 in the error shape', async () => {
    app = await build(['127.0.0.1', '10.0.0.0/8']);
    // Some traffic first: a refusal, and a read of a member (whose uid must not show).
    await app.inject({ method: 'GET', url: '/api/members/regular1' });
    await app.inject({ method: 'GET', url: '/api/members/regular1', headers: { authorization: negotiateAs('regular1') } });
    for (const remoteAddress of ['127.0.0.1', '10.9.8.7']) {
      const res = await app.inject({ method: 'GET', url: '/metrics', remoteAddress });
      expect([remoteAddress, res.statusCode]).toEqual([remoteAddress, 200]);
      expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
      expect(res.body).toContain('ceod_auth_failures_total{reason="no_credentials"} 1');
      expect(res.body).toContain('route="/api/members/:uid",status="200"');
      expect(res.body).not.toContain('regular1');
    }
    const refused = await app.inject({ method: 'GET', url: '/metrics', remoteAddress: '192.0.2.1' });
    expect(refused.statusCode).toBe(403);
    expect(refused.json().error.code).toBe('FORBIDDEN');
    expect(refused.body).not.toContain('ceod_');
  });
  it("counts every job type the API accepts, main's newer ones included, by the route's job; a dry run, a conflict or a refusal is no job", async () => {
    const config = exampleConfig();
    const metrics = createPrometheusMetrics();
    const ldap = fakeLdap([person('regular1'), person('ctdalek')], { ctdalek: ['syscom'] });
    app = await buildApp({ config, store: new MemoryJobStore(), queue: new RecordingQueue(), events: noEvents, sessions: new MemorySessions(), ldap, log, metrics, authenticate: tokenIsUid(config.kerberos.realm) });
    const as = (uid: string) => ({ authorization: negotiateAs(uid) });
    const post = async (uid: string, url: string, payload?: object) => (await app.inject({ method: 'POST', url, headers: as(uid), ...(payload ? { payload } : {}) })).statusCode;
    expect(await post('regular1', '/api/db/mysql/regular1')).toBe(202);
    // A second job on regular1 while the first holds the lock: 409, not a job.
    expect(await post('regular1', '/api/db/postgresql/regular1')).toBe(409);
    expect(await post('ctdalek', '/api/db/postgresql/ctdalek/pwreset')).toBe(202);
    expect(await post('ctdalek', '/api/members/renew', { uids: ['regular1'], terms: ['f2099'], dry_run: true })).toBe(200);
    expect(await post('ctdalek', '/api/members/renew', { uids: ['regular1'], terms: ['f2099'] })).toBe(202);
    expect(await post('regular1', '/api/db/mysql/ctdalek')).toBe(403);
    const { body } = await metrics.scrape();
    expect(body).toContain('ceod_jobs_submitted_total{job_type="create_database"} 1');
    expect(body).toContain('ceod_jobs_submitted_total{job_type="reset_database_password"} 1');
    expect(body).toContain('ceod_jobs_submitted_total{job_type="renew_members"} 1');
    expect(body).toContain('ceod_auth_failures_total{reason="access_denied"} 1');
    expect(body).toContain('route="/api/db/mysql/:uid",status="403"');
    for (const uid of ['regular1', 'ctdalek']) expect(body).not.toContain(uid);
  });
  it('an empty list: no route', async () => {
    app = await build([]);
    expect((await app.inject({ method: 'GET', url: '/metrics', remoteAddress: '127.0.0.1' })).statusCode).toBe(404);
  });
});

describe("a worker's metrics server", () => {
  const get = async (port: number, path = '/metrics') => {
    const res = await fetch(`http://127.0.0.1:${port}${path}`);
    return { status: res.status, body: await res.text() };
  };

  it('serves /metrics to the allowed addresses, 403 to others, 404 elsewhere', async () => {
    const metrics = createPrometheusMetrics();
    metrics.jobFinished('delete_member', 'completed');
    const open = await startMetricsServer({ host: '127.0.0.1', port: 0, metrics, allow: new AllowList(['127.0.0.1']), log });
    const closed = await startMetricsServer({ host: '127.0.0.1', port: 0, metrics, allow: new AllowList(['10.0.0.0/8']), log });
    try {
      const port = (s: { address: string }) => Number(s.address.split(':').pop());
      const ok = await get(port(open));
      expect(ok.status).toBe(200);
      expect(ok.body).toContain('ceod_jobs_finished_total{job_type="delete_member",state="completed"} 1');
      expect((await get(port(open), '/')).status).toBe(404);
      const refused = await get(port(closed));
      expect(refused.status).toBe(403);
      expect(JSON.parse(refused.body).error.code).toBe('FORBIDDEN');
    } finally {
      await Promise.all([open.close(), closed.close()]);
    }
  });

  it('a port already taken stops the start, naming the key', async () => {
    const holder: Server = createServer();
    await new Promise<void>((r) => holder.listen(0, '127.0.0.1', () => r()));
    const port = (holder.address() as { port: number }).port;
    try {
      await expect(startMetricsServer({ host: '127.0.0.1', port, metrics: createPrometheusMetrics(), allow: new AllowList(['127.0.0.1']), log })).rejects.toThrow(
        `cannot listen on [ceod] metrics_listen 127.0.0.1:${port}: EADDRINUSE`,
      );
    } finally {
      holder.close();
    }
  });
});
