/**
 * The operator's surface end to end (docs/operations.md), on processes as a
 * user starts them:
 *
 * - metrics: the API's `/metrics` and each worker's `[ceod] metrics_listen`
 *   are scraped before and after a create, and the counters move (jobs
 *   submitted on the API, steps timed and the job finished on the workers,
 *   the role queues seen from every process); no uid is ever in them;
 * - the queue dashboard in a real browser (headless Chromium, Debian's):
 *   syscom sees the four role queues, others get 403, and it is read-only.
 *
 * Chromium does not do SPNEGO here (/work/shared/RECIPES.md: no ticket is
 * ever requested, and a browser asks for HTTP/<host>, not ceod/<host>), so
 * the test does the handshake itself with the kerberos client, as ctdalek,
 * against /admin/queues, takes the `ceod_session` cookie the answer sets
 * (Path=/admin/queues) and hands it to the browser: what a syscom member's
 * browser gets after negotiating there.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { call, type CeodCluster, runJob, seedTickets, startCeod, type Tickets, waitFor, waitForJob } from '../helpers/ceod';
import { testStack } from '../helpers/stack';

const stack = testStack();
const QUEUES = ['ceod-admin', 'ceod-fs', 'ceod-mail', 'ceod-db'];
const newUid = () => `o${Math.random().toString(36).slice(2, 8).replace(/[^a-z0-9]/g, 'x')}`;
const person = (uid: string) => ({ uid, cn: `Ops ${uid}`, given_name: 'Ops', sn: uid, terms: ['f2099'], forwarding_addresses: [`${uid}@example.org`] });

let cluster: CeodCluster;
let tickets: Tickets;

beforeAll(async () => {
  tickets = await seedTickets(stack);
  cluster = await startCeod(stack, { name: 'ops' });
}, 120_000);

afterAll(async () => {
  await cluster?.stop();
});

// --- metrics

/** One scrape: the text, and the value of a sample by its name and labels (0 when absent). */
async function scrape(url: string): Promise<{ text: string; value: (name: string, labels?: Record<string, string>) => number }> {
  const res = await fetch(url);
  expect([url, res.status]).toEqual([url, 200]);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  const value = (name: string, labels: Record<string, string> = {}) => {
    let sum = 0;
    for (const line of text.split('\n')) {
      const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})? (\S+)$/.exec(line);
      if (!m || m[1] !== name) continue;
      const have = Object.fromEntries([...(m[3] ?? '').matchAll(/([a-zA-Z_]+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
      if (Object.entries(labels).every(([k, v]) => have[k] === v)) sum += Number(m[4]);
    }
    return sum;
  };
  return { text, value };
}

const workers = ['admin', 'fs', 'mail', 'db'] as const;
const scrapeAll = async () => ({
  api: await scrape(`${cluster.url}/metrics`),
  workers: Object.fromEntries(await Promise.all(workers.map(async (w) => [w, await scrape(cluster.metricsUrls[w]!)] as const))) as Record<(typeof workers)[number], Awaited<ReturnType<typeof scrape>>>,
});
const sumWorkers = (s: Awaited<ReturnType<typeof scrapeAll>>, name: string, labels?: Record<string, string>) => workers.reduce((n, w) => n + s.workers[w].value(name, labels), 0);

test('metrics: the API and every worker are scraped, and the counters move after a create', async () => {
  const before = await scrapeAll();
  const uid = newUid();
  const job = await runJob(cluster, tickets, 'ctdalek', 'POST', '/api/members', person(uid));
  expect((await call(cluster, tickets, null, 'GET', `/api/members/${uid}`)).status).toBe(401);
  const after = await scrapeAll();

  // The API: the job submitted, the requests timed by route as declared, the refusal counted.
  const submitted = (s: typeof before) => s.api.value('ceod_jobs_submitted_total', { job_type: 'create_member' });
  expect(submitted(after) - submitted(before)).toBe(1);
  expect(after.api.value('ceod_http_request_duration_seconds_count', { method: 'POST', route: '/api/members', status: '202' })).toBeGreaterThanOrEqual(1);
  expect(after.api.value('ceod_http_request_duration_seconds_count', { route: '/api/members/:uid', status: '401' })).toBeGreaterThanOrEqual(1);
  expect(after.api.value('ceod_auth_failures_total', { reason: 'no_credentials' }) - before.api.value('ceod_auth_failures_total', { reason: 'no_credentials' })).toBeGreaterThanOrEqual(1);
  expect(after.api.text).toMatch(/^ceod_sse_streams_open \d+$/m);

  // The workers: each step of the job timed once, on the host that ran it; the job finished once.
  const steps = job.steps.length as number;
  const timed = (s: typeof before) => sumWorkers(s, 'ceod_step_duration_seconds_count', { job_type: 'create_member', phase: 'do', outcome: 'completed' });
  expect(timed(after) - timed(before)).toBe(steps);
  for (const step of job.steps as { name: string; role: string; host: string }[]) {
    // On the worker of the step's role, labelled with the host that ran it.
    const w = after.workers[step.role as (typeof workers)[number]];
    const n = w.value('ceod_step_duration_seconds_count', { job_type: 'create_member', step: step.name, host: step.host, phase: 'do', outcome: 'completed' });
    expect([step.name, n >= 1]).toEqual([step.name, true]);
  }
  const finished = (s: typeof before) => sumWorkers(s, 'ceod_jobs_finished_total', { job_type: 'create_member', state: 'completed' });
  expect(finished(after) - finished(before)).toBe(1);

  // Every process sees every role queue; Node's own metrics are there.
  for (const s of [after.api, ...Object.values(after.workers)]) {
    for (const q of QUEUES) expect([q, s.text]).toEqual([q, expect.stringMatching(new RegExp(`^ceod_queue_oldest_waiting_seconds\\{queue="${q}"\\} `, 'm'))]);
    expect(s.text).toMatch(/^process_cpu_user_seconds_total /m);
    expect(s.text).toMatch(/^nodejs_eventloop_lag_seconds /m);
  }

  // Nothing an authenticated caller sent or may see: not the uid, not an address.
  for (const s of [after.api, ...Object.values(after.workers)]) {
    expect(s.text).not.toContain(uid);
    expect(s.text).not.toContain('example.org');
    expect(s.text).not.toContain('ctdalek');
  }
}, 120_000);

test('metrics: a step waiting for a worker that is down shows in the queue depth and age, from the API', async () => {
  await cluster.kill('mail');
  try {
    const res = await call(cluster, tickets, 'ctdalek', 'POST', '/api/members', person(newUid()));
    expect(res.status).toBe(202);
    let last: Awaited<ReturnType<typeof scrape>> | undefined;
    await waitFor(
      async () => {
        last = await scrape(`${cluster.url}/metrics`);
        return last.value('ceod_queue_jobs', { queue: 'ceod-mail', state: 'waiting' }) >= 1 && last.value('ceod_queue_oldest_waiting_seconds', { queue: 'ceod-mail' }) > 0.2;
      },
      30_000,
      'the mail step waiting',
      () => last?.text.split('\n').filter((l) => l.startsWith('ceod_queue')).join('\n') ?? '',
    );
    await cluster.start('mail');
    expect((await waitForJob(cluster, tickets, 'ctdalek', res.body.id)).state).toBe('completed');
    // Taken: nothing waits any more.
    await waitFor(async () => (await scrape(`${cluster.url}/metrics`)).value('ceod_queue_jobs', { queue: 'ceod-mail', state: 'waiting' }) === 0, 15_000, 'the mail queue drained');
  } finally {
    if (!cluster.procs.has('mail')) await cluster.start('mail');
  }
}, 120_000);

test('metrics: the event streams open on the API host are counted while open (one fan-out reader behind them), and no longer once closed or ended', async () => {
  const open = async () => (await scrape(`${cluster.url}/metrics`)).value('ceod_sse_streams_open');
  const before = await open();
  // A job that stays running (its mail step waits for a worker), so its streams stay open.
  await cluster.kill('mail');
  const streams: { res: Response; abort: AbortController }[] = [];
  try {
    const res = await call(cluster, tickets, 'ctdalek', 'POST', '/api/members', person(newUid()));
    expect(res.status).toBe(202);
    for (let i = 0; i < 3; i++) {
      const abort = new AbortController();
      const stream = await fetch(`${cluster.url}${res.body.events_url}`, {
        headers: { authorization: `Negotiate ${await tickets.token('ctdalek')}`, accept: 'text/event-stream' },
        signal: abort.signal,
      });
      expect(stream.status).toBe(200);
      streams.push({ res: stream, abort });
    }
    // Each stream is served (its first event arrived), from the one reader of the job.
    for (const { res: stream } of streams) {
      const reader = stream.body!.getReader();
      let text = '';
      while (!/^event: queued$/m.test(text)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`the stream ended before its first event: ${text}`);
        text += new TextDecoder().decode(value);
      }
    }
    expect(await open()).toBe(before + 3);
    // Two clients leave: their slots are given back.
    for (const s of streams.slice(0, 2)) s.abort.abort();
    await waitFor(async () => (await open()) === before + 1, 15_000, 'two streams closed');
    // The job ends: the last stream ends after the final event, and is not counted any more.
    await cluster.start('mail');
    expect((await waitForJob(cluster, tickets, 'ctdalek', res.body.id)).state).toBe('completed');
    await waitFor(async () => (await open()) === before, 15_000, 'the last stream ended');
  } finally {
    for (const s of streams) s.abort.abort();
    if (!cluster.procs.has('mail')) await cluster.start('mail');
  }
}, 120_000);

// --- the queue dashboard

/** A session cookie for the dashboard, from a real handshake there as `uid`. */
async function dashboardCookie(uid: string): Promise<{ status: number; value: string; header: string }> {
  const res = await call(cluster, tickets, uid, 'GET', '/admin/queues');
  const header = res.headers.getSetCookie().find((c) => c.startsWith('ceod_session='))!;
  expect(header).toMatch(/; Path=\/admin\/queues; HttpOnly; SameSite=Strict; Secure$/);
  return { status: res.status, value: /^ceod_session=([^;]*)/.exec(header)![1]!, header };
}

const CHROMIUM = process.env.CEOD_CHROMIUM ?? '/usr/bin/chromium';
// Headless flags as in /work/shared/RECIPES.md: root needs --no-sandbox.
const CHROMIUM_ARGS = ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

/** base64(SHA-256(SubjectPublicKeyInfo)) of the certificate in `file`: what --ignore-certificate-errors-spki-list takes. */
function spkiHash(file: string): string {
  const spki = new X509Certificate(readFileSync(file)).publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(spki).digest('base64');
}

describe('the queue dashboard', () => {
  let dir: string;
  let browser: BrowserContext;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ceod-ops-browser-'));
    // A fresh profile for each run, over HTTPS as served. Chromium does not know the
    // stack's dev CA; rather than ignoring every certificate error, it is told to
    // accept the one key the API's certificate carries (its SPKI hash; Chromium
    // honours the list only with a profile directory of its own, as here). Any other
    // certificate error still fails the page: see the test just below.
    browser = await chromium.launchPersistentContext(join(dir, 'profile'), {
      executablePath: CHROMIUM,
      headless: true,
      args: [...CHROMIUM_ARGS, `--ignore-certificate-errors-spki-list=${spkiHash(stack.tls.certFile)}`],
      viewport: { width: 1280, height: 800 },
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** A page that carries `value` as its ceod_session cookie for /admin/queues. */
  async function pageWith(value: string) {
    await browser.clearCookies();
    const url = new URL(cluster.url);
    await browser.addCookies([{ name: 'ceod_session', value, domain: url.hostname, path: '/admin/queues', httpOnly: true, secure: true, sameSite: 'Strict' }]);
    return browser.newPage();
  }

  test("over HTTPS: a Chromium not given the API's key refuses its certificate; the dashboard's browser verifies it", async () => {
    const value = (await dashboardCookie('ctdalek')).value;
    // A browser told nothing about the dev CA: the certificate does not verify.
    const plain = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
    try {
      const page = await plain.newPage();
      await expect(page.goto(`${cluster.url}/admin/queues`)).rejects.toThrow(/ERR_CERT_AUTHORITY_INVALID/);
    } finally {
      await plain.close();
    }
    // The dashboard's browser: the page is served.
    const page = await pageWith(value);
    expect((await page.goto(`${cluster.url}/admin/queues`))?.status()).toBe(200);
    await page.close();
  }, 90_000);

  test('syscom: the page loads in Chromium and lists the four role queues', async () => {
    const { status, value } = await dashboardCookie('ctdalek');
    expect(status).toBe(200);
    const page = await pageWith(value);
    const failed: string[] = [];
    page.on('response', (r) => {
      if (r.status() >= 400) failed.push(`${r.status()} ${r.url()}`);
    });
    const res = await page.goto(`${cluster.url}/admin/queues`, { waitUntil: 'domcontentloaded' });
    expect(res?.status()).toBe(200);
    // The queue list comes from the dashboard's own XHRs (same origin, the cookie's path): all four listed.
    // (Runs in the page: `document` is the browser's; this project's types have no DOM.)
    await page.waitForFunction((names) => names.every((n) => (globalThis as unknown as { document: { body: { innerText: string } } }).document.body.innerText.includes(n)), QUEUES, { timeout: 30_000 });
    const text = await page.innerText('body');
    for (const q of QUEUES) expect(text).toContain(q);
    mkdirSync(join(cluster.dir, 'screenshots'), { recursive: true });
    await page.screenshot({ path: join(cluster.dir, 'screenshots', 'queue-dashboard.png'), fullPage: true });
    // `CEOD_DOCS_SCREENSHOT=1` also refreshes the README's picture.
    if (process.env.CEOD_DOCS_SCREENSHOT) await page.screenshot({ path: join(__dirname, '../../docs/queue-dashboard.png') });
    expect(failed).toEqual([]);
    await page.close();
  }, 90_000);

  test('a member or office staff gets 403, page and XHR alike; without a cookie, 401 and a Negotiate challenge', async () => {
    for (const uid of ['regular1', 'office1']) {
      const { status, value } = await dashboardCookie(uid);
      expect([uid, status]).toEqual([uid, 403]);
      const page = await pageWith(value);
      const res = await page.goto(`${cluster.url}/admin/queues`);
      expect([uid, res?.status()]).toEqual([uid, 403]);
      expect(await page.innerText('body')).toContain('FORBIDDEN');
      // The dashboard's own request, made by the page (same origin, the cookie's path, the browser's TLS).
      const api = await page.evaluate(async (url) => (await fetch(url)).status, `${cluster.url}/admin/queues/api/queues`);
      expect([uid, api]).toEqual([uid, 403]);
      await page.close();
    }
    const none = await call(cluster, tickets, null, 'GET', '/admin/queues/api/queues');
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Negotiate');
    expect(none.body.error.code).toBe('UNAUTHENTICATED');
  }, 90_000);

  test('read-only: syscom cannot pause a queue or retry a step job from it; a foreign origin is refused first', async () => {
    const { value } = await dashboardCookie('ctdalek');
    const pause = await call(cluster, tickets, null, 'PUT', '/admin/queues/api/queues/ceod-mail/pause', undefined, { cookie: `ceod_session=${value}` });
    expect(pause.status).toBe(405);
    const foreign = await call(cluster, tickets, null, 'PUT', '/admin/queues/api/queues/ceod-mail/pause', undefined, { cookie: `ceod_session=${value}`, origin: 'https://evil.example' });
    expect(foreign.status).toBe(403);
    expect(foreign.body.error.message).toMatch(/cross-site/);
    // The API's cookie path is unchanged; its cookie is not sent to /admin/queues by a browser, but is accepted there.
    const apiCookie = (await call(cluster, tickets, 'ctdalek', 'GET', '/api/members/ctdalek')).headers.getSetCookie()[0]!;
    expect(apiCookie).toMatch(/; Path=\/api;/);
    const withApiCookie = await call(cluster, tickets, null, 'GET', '/admin/queues/api/queues', undefined, { cookie: apiCookie.split(';')[0]! });
    expect(withApiCookie.status).toBe(200);
    expect(withApiCookie.body.queues.map((q: { name: string }) => q.name).sort()).toEqual([...QUEUES].sort());
  }, 60_000);
});
