/**
 * Event streams (issue 10, #5) with fake ports: a finished job's stream ends
 * once its final event is sent, or at once when the client already has it;
 * a caller may hold only so many streams; an idle stream ends; a client's
 * `Connection: close` is kept. Each of these failed before its fix (the
 * stream of a finished job polled forever).
 */
import { connect } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/api/app';
import type { Config } from '../../src/config/schema';
import { createLogger } from '../../src/core/log';
import type { JobEventFeed } from '../../src/core/ports';
import { newRecord } from '../../src/jobs/submit';
import { resetPassword } from '../../src/jobs/reset-password';
import { exampleConfig, MemorySessions, fakeLdap, MemoryJobStore, negotiateAs, person, RecordingQueue, tokenIsUid } from '../fakes/ports';

const log = createLogger({ level: 'silent', host: 'test', process: 'test' });
/** Wakes nobody early: every waiter just times out, as with a quiet Redis. */
const timerFeed: JobEventFeed = {
  waiter: (_id, ms) => {
    let t: NodeJS.Timeout;
    let done!: () => void;
    const promise = new Promise<void>((r) => {
      done = r;
      t = setTimeout(r, ms);
    });
    return { promise, cancel: () => (clearTimeout(t), done()) };
  },
  watching: 0,
};

let store: MemoryJobStore;
let app: FastifyInstance;

async function build(edit: (c: Config['ceod']) => void = () => undefined) {
  const config = exampleConfig();
  edit(config.ceod as Config['ceod']);
  Object.assign(config.ceod as object, { sse_poll_ms: 50 });
  edit(config.ceod as Config['ceod']);
  store = new MemoryJobStore();
  const ldap = fakeLdap([person('ctdalek'), person('regular1')], { ctdalek: ['syscom'] });
  return buildApp({ config, store, queue: new RecordingQueue(), events: timerFeed, sessions: new MemorySessions(), ldap, log, authenticate: tokenIsUid(config.kerberos.realm) });
}

/** A job of `requester`, run to its end: queued, started, completed. */
async function finishedJob(requester: string) {
  const r = newRecord(resetPassword, { uid: 'regular1' }, requester);
  await store.submit(r);
  await store.save({ ...r, state: 'completed' }, [
    { type: 'step_started', data: {} },
    { type: 'step_completed', data: {} },
    { type: 'completed', data: {} },
  ]);
  return r.id;
}

afterEach(() => app?.close());

const watch = (id: string, headers: Record<string, string> = {}) =>
  app.inject({ method: 'GET', url: `/api/jobs/${id}/events`, headers: { authorization: negotiateAs('regular1'), accept: 'text/event-stream', ...headers } });

it('a finished job\'s stream sends what is left and ends', async () => {
  app = await build();
  const id = await finishedJob('regular1');
  const res = await watch(id);
  expect(res.statusCode).toBe(200);
  const events = [...res.body.matchAll(/^event: (\w+)$/gm)].map((m) => m[1]);
  expect(events).toEqual(['queued', 'step_started', 'step_completed', 'completed']);
});

it('with Last-Event-ID at the final event it ends at once, sending nothing', async () => {
  app = await build();
  const id = await finishedJob('regular1');
  const lastId = (await store.events(id)).at(-1)!.id;
  const t0 = Date.now();
  const res = await watch(id, { 'last-event-id': lastId });
  expect(res.statusCode).toBe(200);
  expect(res.body).not.toMatch(/^event:/m);
  expect(Date.now() - t0).toBeLessThan(2000);
});

it('a running job\'s stream with no news ends after the idle bound', async () => {
  app = await build((c) => Object.assign(c, { sse_idle_timeout_ms: 300 }));
  const r = newRecord(resetPassword, { uid: 'regular1' }, 'regular1');
  await store.submit(r);
  const t0 = Date.now();
  const res = await watch(r.id);
  expect(res.body).toMatch(/^event: queued$/m);
  expect(Date.now() - t0).toBeLessThan(3000);
});

it('a caller may hold only so many streams (429), and a slot comes back when a stream ends', async () => {
  app = await build((c) => Object.assign(c, { sse_max_per_principal: 2, sse_idle_timeout_ms: 60_000 }));
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as { port: number };
  const r = newRecord(resetPassword, { uid: 'regular1' }, 'regular1');
  await store.submit(r);
  const open = (): Promise<{ status: number; close: () => void }> =>
    new Promise((resolve) => {
      const s = connect(port, '127.0.0.1', () =>
        s.write(`GET /api/jobs/${r.id}/events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\nAuthorization: ${negotiateAs('regular1')}\r\n\r\n`),
      );
      s.once('data', (d) => resolve({ status: Number(/^HTTP\/1\.1 (\d+)/.exec(d.toString())?.[1]), close: () => s.destroy() }));
    });
  const a = await open();
  const b = await open();
  const c = await open();
  expect([a.status, b.status, c.status]).toEqual([200, 200, 429]);
  a.close();
  await new Promise((res) => setTimeout(res, 200));
  const d = await open();
  expect(d.status).toBe(200);
  b.close();
  c.close();
  d.close();
});

it('keeps a client\'s Connection: close', async () => {
  app = await build();
  const id = await finishedJob('regular1');
  const res = await watch(id, { connection: 'close' });
  expect(res.headers.connection).toBe('close');
});

it('past the host\'s cap, a stream is a 503 with Retry-After', async () => {
  app = await build((c) => Object.assign(c, { sse_max_streams: 1, sse_idle_timeout_ms: 60_000 }));
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as { port: number };
  const r = newRecord(resetPassword, { uid: 'regular1' }, 'regular1');
  await store.submit(r);
  const open = (): Promise<{ head: string; close: () => void }> =>
    new Promise((resolve) => {
      const s = connect(port, '127.0.0.1', () =>
        s.write(`GET /api/jobs/${r.id}/events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\nAuthorization: ${negotiateAs('regular1')}\r\n\r\n`),
      );
      s.once('data', (d) => resolve({ head: d.toString(), close: () => s.destroy() }));
    });
  const a = await open();
  const b = await open();
  expect(a.head).toMatch(/^HTTP\/1\.1 200/);
  expect(b.head).toMatch(/^HTTP\/1\.1 503/);
  expect(b.head.toLowerCase()).toContain('retry-after: 1');
  expect(b.head).toContain('TOO_MANY_STREAMS');
  a.close();
  b.close();
});
