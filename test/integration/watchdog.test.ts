/**
 * The worker watchdog in a real runner on the test stack's Redis: a queue
 * worker that stops taking jobs while they wait (the failure of bullmq#3088 and
 * #4378, made here by pausing it behind the runner's back) is recreated within
 * the bound, the job it would not take completes, and the log and the counter
 * say so. A blocking connection cut from under it is recovered too.
 */
import IORedis, { type Redis } from 'ioredis';
import pino from 'pino';
import { Writable } from 'node:stream';
import { z } from 'zod';
import { redisServices } from '../../src/compose';
import type { Adapters, JobStore } from '../../src/core/ports';
import { submitJob } from '../../src/jobs/submit';
import type { JobType } from '../../src/jobs/step';
import type { BullmqQueue } from '../../src/workers/bullmq-queue';
import { Runner } from '../../src/workers/runner';
import type { Consumer } from '../../src/workers/watchdog';
import { testConfig, uniquePrefix } from '../helpers/config';
import { redisAuth, testStack } from '../helpers/stack';

const stack = testStack();
const prefix = uniquePrefix('watchdog');
const payload = z.object({ name: z.string() });
const type: JobType<{ name: string }> = {
  name: 'ping',
  payload,
  steps: [{ name: 'ping', role: 'admin', title: () => 'ping', run: async () => ({ result: {} }) }],
} as unknown as JobType<{ name: string }>;
const lines: string[] = [];
const log = pino({ level: 'warn' }, new Writable({ write: (chunk, _e, cb) => (lines.push(String(chunk)), cb()) }));

let redis: Redis;
let store: JobStore;
let queue: BullmqQueue;
let runner: Runner;

beforeAll(async () => {
  redis = new IORedis(stack.redis.url, { ...redisAuth(stack), maxRetriesPerRequest: null });
  const config = testConfig(stack, 'admin', {
    ceod: { worker_concurrency: 2, watchdog_interval_ms: 200, watchdog_stuck_ms: 1500, stalled_interval_ms: 1000, lock_duration_ms: 3000 },
    redis: { prefix },
  });
  ({ store, queue } = redisServices(config, redis));
  runner = new Runner({ config, store, queue, coordination: redisServices(config, redis).coordination, connection: redis, adapters: {} as Adapters, log, types: new Map([[type.name, type]]) });
  await runner.start();
});

afterAll(async () => {
  await runner.stop(2000);
  await queue.close();
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
});

const consumer = () => (runner as unknown as { consumers: Map<string, Consumer> }).consumers.get('admin')!;

async function finished(id: string, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await store.get(id);
    if (r && ['completed', 'failed', 'rolled_back'].includes(r.state)) return r.state;
    if (Date.now() > deadline) return r?.state ?? 'missing';
    await new Promise((res) => setTimeout(res, 50));
  }
}

test('a worker that takes no job while one waits is recreated within the bound, and the job completes', async () => {
  expect(runner.workersRecreated).toBe(0);
  const before = consumer().worker;
  // "Running" but taking nothing, what #3088's users saw after a failover: its
  // next fetch never returns (as a blocking command on a dead socket would not).
  (before as unknown as { _getNextJob: () => Promise<never> })._getNextJob = () => new Promise<never>(() => undefined);
  await new Promise((r) => setTimeout(r, 6000)); // its current fetch (drainDelay 5 s) ends; the next one hangs
  expect(before.isRunning()).toBe(true);
  const t0 = Date.now();
  const { id } = await submitJob({ store, queue }, type, { name: 'a' }, 'tester');
  expect(await finished(id, 10_000)).toBe('completed');
  const tookMs = Date.now() - t0;
  expect(consumer().worker).not.toBe(before);
  expect(runner.workersRecreated).toBe(1);
  // stuck bound (1.5 s) + a look (0.2 s) + the new worker's start: well under 5 s.
  expect(tookMs).toBeLessThan(5000);
  expect(tookMs).toBeGreaterThan(1500);
  expect(lines.join("")).toMatch(/watchdog: recreating the admin queue worker: [0-9]+ job\(s\) waiting/);
});

test('a blocking connection cut from under the worker: the next job still completes', async () => {
  const bclient = (await (consumer().worker as unknown as { backend: { blockingClient: Promise<Redis> } }).backend.blockingClient)!;
  bclient.disconnect(); // no reconnect: ioredis's terminal 'end'
  const { id } = await submitJob({ store, queue }, type, { name: 'b' }, 'tester');
  // BullMQ 6 reconnects it itself (its #4378 fix); if it did not, the watchdog would.
  expect(await finished(id, 10_000)).toBe('completed');
}, 20_000);
