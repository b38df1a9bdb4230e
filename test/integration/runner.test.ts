/**
 * The runner against a real Redis, with job types made for the test: steps in
 * order on the hosts that own their roles, retries, rollback in reverse, undo
 * failures reported, best-effort warnings, stale redeliveries, sealed secrets.
 */
import IORedis, { type Redis } from 'ioredis';
import pino from 'pino';
import { z } from 'zod';
import { PermanentError, TransientError } from '../../src/core/errors';
import { redisServices } from '../../src/compose';
import type { JobRecord } from '../../src/core/model/job';
import type { Adapters, Coordination, JobStore } from '../../src/core/ports';
import { newRecord, submitJob } from '../../src/jobs/submit';
import type { JobType, StepDef } from '../../src/jobs/step';
import { type BullmqQueue, stepJobId } from '../../src/workers/bullmq-queue';
import { Runner } from '../../src/workers/runner';
import { testConfig, uniquePrefix } from '../helpers/config';
import { redisAuth, testStack } from '../helpers/stack';

const stack = testStack();
const prefix = uniquePrefix('runner');
const log = pino({ level: 'silent' });
const payload = z.object({ name: z.string() });
type P = z.infer<typeof payload>;

/** What ran, in order, as `<host>:<step>:<do|undo>`. */
let trace: string[] = [];
const flaky = new Map<string, number>();

function step(name: string, role: StepDef<P>['role'], opts: Partial<StepDef<P>> & { fail?: 'permanent' | 'transient-twice' | 'undo-permanent' } = {}): StepDef<P> {
  return {
    name,
    role,
    title: (p) => `${name} for ${p.name}`,
    bestEffort: opts.bestEffort,
    run: async (ctx) => {
      trace.push(`${ctx.config.ceod.host}:${name}:do`);
      if (opts.fail === 'permanent') throw new PermanentError('LDAP_INVALID_DATA', `${name} refused`);
      if (opts.fail === 'transient-twice') {
        const n = (flaky.get(ctx.jobId) ?? 0) + 1;
        flaky.set(ctx.jobId, n);
        if (n <= 2) throw new TransientError('MAILMAN_UNAVAILABLE', `${name} down (${n})`);
      }
      if (name === 'secret') await ctx.saveSecret('password', 'plain-text-never-stored');
      return { result: { [`${name}_done`]: ctx.attempt } };
    },
    undo: opts.undo === undefined && !opts.bestEffort
      ? async (ctx) => {
          trace.push(`${ctx.config.ceod.host}:${name}:undo`);
          if (opts.fail === 'undo-permanent') throw new PermanentError('KRB5_NO_PRIVILEGE', `${name} undo refused`);
        }
      : opts.undo,
  };
}

const types = new Map<string, JobType<P>>(
  [
    { name: 'ok', payload, steps: [step('a', 'admin'), step('b', 'fs'), step('c', 'admin'), step('secret', 'admin')] },
    { name: 'late_failure', payload, steps: [step('a', 'admin'), step('b', 'fs'), step('mail', 'mail', { bestEffort: true, fail: 'permanent' }), step('d', 'admin', { fail: 'permanent' })] },
    { name: 'flaky', payload, steps: [step('a', 'admin'), step('f', 'mail', { fail: 'transient-twice' })] },
    { name: 'undo_fails', payload, steps: [step('a', 'admin'), step('b', 'fs', { fail: 'undo-permanent' }), step('c', 'admin'), step('d', 'mail', { fail: 'permanent' })] },
    { name: 'chain_flaky', payload, steps: [step('a', 'admin'), step('f', 'admin', { fail: 'transient-twice' }), step('g', 'admin')] },
    { name: 'chain', payload, steps: [step('a', 'admin'), step('b', 'admin'), step('c', 'fs')] },
    // No runner here consumes db: these jobs move only when a test moves them.
    { name: 'db_chain', payload, steps: [step('x', 'db'), step('y', 'db')] },
  ].map((t) => [t.name, t as JobType<P>]),
);

let redis: Redis;
let store: JobStore;
let dispatcher: BullmqQueue;
let coordination: Coordination;
const runners: Runner[] = [];

beforeAll(async () => {
  redis = new IORedis(stack.redis.url, { ...redisAuth(stack), maxRetriesPerRequest: null });
  const fast = { step_backoff_ms: 20, step_backoff_max_ms: 50, step_attempts: 4, worker_concurrency: 4 };
  ({ store, queue: dispatcher, coordination } = redisServices(testConfig(stack, 'admin', { ceod: fast, redis: { prefix } }), redis));
  const adapters = {} as Adapters; // these steps touch no server
  for (const [host, roles] of [['host-a', ['admin']], ['host-b', ['fs', 'mail']]] as const) {
    const config = testConfig(stack, 'admin', { ceod: { ...fast, host, roles: [...roles] }, redis: { prefix } });
    const r = new Runner({ config, store, queue: dispatcher, coordination, connection: redis, adapters, log, types });
    await r.start();
    runners.push(r);
  }
});

afterAll(async () => {
  await Promise.all(runners.map((r) => r.stop(5000)));
  await dispatcher.close();
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
});

beforeEach(() => {
  trace = [];
});

async function run(type: string, name = 'x'): Promise<JobRecord> {
  const { id } = await submitJob({ store, queue: dispatcher }, types.get(type)!, { name }, 'tester');
  const deadline = Date.now() + 20_000;
  for (;;) {
    const r = (await store.get(id))!;
    if (['completed', 'failed', 'rolled_back'].includes(r.state)) return r;
    if (Date.now() > deadline) throw new Error(`job ${type} stuck in ${r.state} at ${r.phase} ${r.cursor}`);
    await new Promise((res) => setTimeout(res, 20));
  }
}

test('runs every step in order, each on the host that owns its role', async () => {
  const r = await run('ok');
  expect(r.state).toBe('completed');
  expect(trace).toEqual(['host-a:a:do', 'host-b:b:do', 'host-a:c:do', 'host-a:secret:do']);
  expect(r.steps.map((s) => [s.state, s.host, s.attempts])).toEqual([
    ['completed', 'host-a', 1],
    ['completed', 'host-b', 1],
    ['completed', 'host-a', 1],
    ['completed', 'host-a', 1],
  ]);
  expect(r.steps[0]!.result).toEqual({ a_done: 1 });
  const events = await store.events(r.id);
  expect(events.map((e) => e.type)).toEqual(['queued', ...Array(4).fill(['step_started', 'step_completed']).flat(), 'completed']);
});

test('seals secrets: no plaintext anywhere in Redis', async () => {
  const r = await run('ok');
  const sealed = await store.secrets(r.id);
  expect(Object.keys(sealed)).toEqual(['password']);
  for (const key of await redis.keys(`${prefix}:*`)) {
    const type = await redis.type(key);
    const dump = type === 'string' ? await redis.get(key) : type === 'hash' ? JSON.stringify(await redis.hgetall(key)) : type === 'stream' ? JSON.stringify(await redis.xrange(key, '-', '+')) : '';
    expect(dump ?? '').not.toContain('plain-text-never-stored');
  }
});

test('a permanent failure late in the job undoes the finished steps in reverse, best-effort failures only warn', async () => {
  const r = await run('late_failure');
  expect(r.state).toBe('rolled_back');
  expect(trace).toEqual(['host-a:a:do', 'host-b:b:do', 'host-b:mail:do', 'host-a:d:do', 'host-b:b:undo', 'host-a:a:undo']);
  expect(r.error).toMatchObject({ code: 'LDAP_INVALID_DATA', step: 'd' });
  expect(r.undone).toEqual(['b', 'a']);
  expect(r.warnings).toEqual([expect.stringContaining('mail failed')]);
  expect(r.steps.map((s) => s.state)).toEqual(['undone', 'undone', 'failed', 'failed']);
  const types = (await store.events(r.id)).map((e) => e.type);
  expect(types).toContain('warning');
  expect(types.slice(-3)).toEqual(['step_undone', 'step_undone', 'rolled_back']);
});

test('transient failures retry with backoff, then succeed', async () => {
  const r = await run('flaky');
  expect(r.state).toBe('completed');
  expect(r.steps[1]).toMatchObject({ state: 'completed', attempts: 3 });
  const types = (await store.events(r.id)).map((e) => e.type);
  expect(types.filter((t) => t === 'step_retrying')).toHaveLength(2);
});

test('a failed undo is never swallowed: the job ends failed, listing it, and the other undos still run', async () => {
  const r = await run('undo_fails');
  expect(r.state).toBe('failed');
  expect(r.undoErrors).toEqual([{ step: 'b', code: 'KRB5_NO_PRIVILEGE', message: 'b undo refused' }]);
  expect(r.undone).toEqual(['c', 'a']);
  expect(trace.filter((t) => t.endsWith(':undo'))).toEqual(['host-a:c:undo', 'host-b:b:undo', 'host-a:a:undo']);
});

test('a redelivered step that was already recorded only re-dispatches the current position', async () => {
  const r = await run('ok');
  trace = [];
  const out = await runners[0]!.process({ data: { jobId: r.id, phase: 'do', index: 0 }, attemptsMade: 0, opts: { attempts: 4 } } as never);
  expect(out).toBe('gone'); // finished jobs are left alone
  expect(trace).toEqual([]);
});

test('one job per resource: a second submit with the same lock key is a conflict naming the first', async () => {
  const lockType: JobType<P> = { ...types.get('ok')!, name: 'ok', lockKey: (p) => `thing:${p.name}` };
  const first = await submitJob({ store, queue: dispatcher }, lockType, { name: 'dup' }, 'tester');
  const second = await submitJob({ store, queue: dispatcher }, lockType, { name: 'dup' }, 'tester');
  expect(first.kind).toBe('created');
  expect(second).toEqual({ kind: 'conflict', id: first.id });
  const idem1 = await submitJob({ store, queue: dispatcher }, lockType, { name: 'idem' }, 'tester', { key: 'key-1', fingerprint: 'f1' });
  const idem2 = await submitJob({ store, queue: dispatcher }, lockType, { name: 'idem' }, 'tester', { key: 'key-1', fingerprint: 'f1' });
  expect(idem2).toEqual({ kind: 'idempotent', id: idem1.id, fingerprint: 'f1' });
});

describe('steps of a role the worker owns run in the queue job of the step before them', () => {
  const queued = async (id: string, index: number, role: 'admin' | 'fs' | 'mail' | 'db') =>
    dispatcher.queue(role).getJob(stepJobId({ jobId: id, phase: 'do', index }));

  test('one queue job per run of same-role steps; events as for separate steps', async () => {
    const r = await run('ok');
    expect(r.state).toBe('completed');
    // a (admin) · b (fs) · c, secret (admin): secret ran in c's queue job.
    expect(await queued(r.id, 2, 'admin')).toBeDefined();
    expect(await queued(r.id, 3, 'admin')).toBeUndefined();
    expect(r.steps.map((s) => [s.name, s.host, s.attempts])).toEqual([
      ['a', 'host-a', 1],
      ['b', 'host-b', 1],
      ['c', 'host-a', 1],
      ['secret', 'host-a', 1],
    ]);
    expect(r.steps[3]!.queuedAt).toBeDefined();
  });

  test('a transient failure of a carried step retries it with backoff, on its own attempts', async () => {
    const r = await run('chain_flaky');
    expect(r.state).toBe('completed');
    expect(trace).toEqual(['host-a:a:do', 'host-a:f:do', 'host-a:f:do', 'host-a:f:do', 'host-a:g:do']);
    expect(r.steps.map((s) => [s.name, s.state, s.attempts])).toEqual([
      ['a', 'completed', 1],
      ['f', 'completed', 3],
      ['g', 'completed', 1],
    ]);
    const types = (await store.events(r.id)).map((e) => e.type);
    expect(types.filter((t) => t === 'step_retrying')).toHaveLength(2);
    expect(types.at(-1)).toBe('completed');
  });

  test('a worker that died in a carried step: the redelivered queue job dispatches that step, which runs again as attempt 2', async () => {
    // The record as a crash leaves it: a done, b started in a's queue job, never finished.
    const record = newRecord(types.get('chain')!, { name: 'crash' }, 'tester');
    record.steps[0]!.queuedAt = record.createdAt;
    expect((await store.submit(record)).kind).toBe('created');
    Object.assign(record.steps[0]!, { state: 'completed', attempts: 1, host: 'host-a', finishedAt: new Date().toISOString() });
    Object.assign(record.steps[1]!, { state: 'running', attempts: 1, host: 'host-a', startedAt: new Date().toISOString() });
    Object.assign(record, { state: 'running', cursor: 1 });
    expect(await store.save(record)).toBe(true);
    const out = await runners[0]!.process({ data: { jobId: record.id, phase: 'do', index: 0 }, attemptsMade: 0, opts: { attempts: 4 } } as never);
    expect(out).toBe('stale');
    let r = (await store.get(record.id))!;
    for (const deadline = Date.now() + 20_000; r.state !== 'completed' && Date.now() < deadline; r = (await store.get(record.id))!) {
      await new Promise((res) => setTimeout(res, 20));
    }
    expect(r.state).toBe('completed');
    expect(trace).toEqual(['host-a:b:do', 'host-b:c:do']);
    expect(r.steps[1]).toMatchObject({ state: 'completed', attempts: 2, result: { b_done: 2 } });
  });

  test('the reconciler leaves a carried step alone while its carrier is pending, and dispatches it once the carrier is gone', async () => {
    const record = newRecord(types.get('db_chain')!, { name: 'carried' }, 'tester');
    expect((await store.submit(record)).kind).toBe('created');
    await dispatcher.dispatch(record); // x's queue job: waits, as no runner consumes db
    Object.assign(record.steps[0]!, { state: 'completed', attempts: 1, host: 'host-z' });
    Object.assign(record.steps[1]!, { state: 'running', attempts: 1, host: 'host-z' });
    Object.assign(record, { state: 'running', cursor: 1 });
    expect(await store.save(record)).toBe(true);
    await new Promise((res) => setTimeout(res, 5));
    await runners[0]!.reconcile(0);
    expect(await queued(record.id, 1, 'db')).toBeUndefined();
    await (await queued(record.id, 0, 'db'))!.remove();
    await runners[0]!.reconcile(0);
    expect(await queued(record.id, 1, 'db')).toBeDefined();
    await dispatcher.queue('db').obliterate({ force: true });
  });
});

test('a save Redis applied but whose reply was lost (sent again on reconnect) is recognised as ours, not stale', async () => {
  const record = newRecord(types.get('db_chain')!, { name: 'lost-reply' }, 'tester');
  expect((await store.submit(record)).kind).toBe('created');
  const mine = { ...record, state: 'running' as const };
  // The first send: applied, reply lost. ioredis sends the same command again.
  expect(await store.save({ ...mine })).toBe(true);
  expect(await store.save({ ...mine })).toBe(true);
  // A writer whose copy is really stale is still refused.
  expect(await store.save({ ...mine, state: 'failed' as const })).toBe(false);
  const events = await store.events(record.id);
  expect(events.map((e) => e.type)).toEqual(['queued']);
});
