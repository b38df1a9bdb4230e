/**
 * The worker watchdog's judgement, with fake workers and a fake clock: a
 * blocking connection in `end`, a worker that stopped its loop, or one that
 * takes no job while jobs wait and it has a free slot is recreated; a busy
 * one, an idle queue, or a look that cannot reach Redis is left alone.
 */
import pino from 'pino';
import type { Role } from '../../src/core/model/roles';
import { type Consumer, Watchdog } from '../../src/workers/watchdog';

interface Fake {
  blocking: string;
  running: boolean;
  closing: boolean;
}

function setup(opts: { waiting?: () => Promise<number> } = {}) {
  let now = 1_000_000;
  const fake: Fake = { blocking: 'ready', running: true, closing: false };
  const worker = {
    get closing() {
      return fake.closing;
    },
    isRunning: () => fake.running,
    backend: { blockingClient: Promise.resolve({ get status() { return fake.blocking; } }), client: Promise.resolve({ status: 'ready' }) },
  };
  const consumer: Consumer = { role: 'admin', worker: worker as never, inFlight: 0, concurrency: 2, lastTakenAt: now };
  let waiting = 0;
  const recreated: [Role, string][] = [];
  const dog = new Watchdog({
    consumers: () => [consumer],
    waiting: opts.waiting ?? (async () => waiting),
    recreate: async (role, reason) => void recreated.push([role, reason]),
    log: pino({ level: 'silent' }),
    intervalMs: 1000,
    stuckMs: 10_000,
    now: () => now,
  });
  return {
    dog,
    fake,
    consumer,
    recreated,
    setWaiting: (n: number) => (waiting = n),
    advance: (ms: number) => (now += ms),
    take: () => (consumer.lastTakenAt = now),
  };
}

test("a blocking connection in ioredis's terminal 'end' state: recreated at the next look, and counted", async () => {
  const t = setup();
  await t.dog.tick();
  expect(t.recreated).toEqual([]);
  t.fake.blocking = 'end';
  await t.dog.tick();
  expect(t.recreated).toEqual([['admin', expect.stringContaining("'end'")]]);
  expect(t.dog.total).toBe(1);
  expect(t.dog.recreated.get('admin')).toBe(1);
});

test('a worker whose loop stopped (isRunning false, not closing) is recreated; one that is closing is not', async () => {
  const t = setup();
  t.fake.running = false;
  t.fake.closing = true;
  await t.dog.tick();
  expect(t.recreated).toEqual([]);
  t.fake.closing = false;
  await t.dog.tick();
  expect(t.recreated).toEqual([['admin', 'its processing loop has stopped']]);
});

test('jobs waiting, a free slot, no job taken: recreated once that has lasted stuckMs, not before', async () => {
  const t = setup();
  t.setWaiting(3);
  await t.dog.tick(); // starts the clock
  t.advance(9_000);
  await t.dog.tick();
  expect(t.recreated).toEqual([]);
  t.advance(1_500);
  await t.dog.tick();
  expect(t.recreated).toEqual([['admin', expect.stringMatching(/^3 job\(s\) waiting, a free slot, and no job taken for 1\d s$/)]]);
});

test('a worker that keeps taking jobs, or is busy, or has nothing waiting, is left alone', async () => {
  const t = setup();
  t.setWaiting(5);
  for (let i = 0; i < 10; i++) {
    await t.dog.tick();
    t.advance(5_000);
    t.take(); // it took one since the last look
  }
  expect(t.recreated).toEqual([]);
  // Busy: every slot taken, nothing can be judged.
  t.consumer.inFlight = 2;
  for (let i = 0; i < 5; i++) {
    await t.dog.tick();
    t.advance(5_000);
  }
  expect(t.recreated).toEqual([]);
  // Idle with an empty queue.
  t.consumer.inFlight = 0;
  t.setWaiting(0);
  for (let i = 0; i < 5; i++) {
    await t.dog.tick();
    t.advance(5_000);
  }
  expect(t.recreated).toEqual([]);
});

test('a look that cannot reach Redis (a failover in progress) decides nothing', async () => {
  const t = setup({ waiting: () => Promise.reject(new Error('Connection is closed.')) });
  for (let i = 0; i < 5; i++) {
    await t.dog.tick();
    t.advance(10_000);
  }
  expect(t.recreated).toEqual([]);
});
