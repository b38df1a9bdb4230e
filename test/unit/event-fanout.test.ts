/**
 * The SSE fan-out (src/api/http/event-fanout.ts): one reader per job, however
 * many watchers; late joiners and Last-Event-ID resumes are served from
 * memory; each stream ends after the final event.
 */
import { compareEventIds, EventFanout, type Subscription, type WireEvent } from '../../src/api/http/event-fanout';
import type { JobEventFeed, JobNews } from '../../src/core/ports';
import { newRecord } from '../../src/jobs/submit';
import { resetPassword } from '../../src/jobs/reset-password';
import { MemoryJobStore } from '../fakes/ports';

/** A feed whose wake-ups the test sends. */
function manualFeed() {
  const waiting = new Map<string, Set<() => void>>();
  const feed: JobEventFeed = {
    waiter(id, ms) {
      let done!: () => void;
      const promise = new Promise<void>((r) => (done = r));
      const set = waiting.get(id) ?? new Set();
      waiting.set(id, set);
      const t = setTimeout(() => release(), ms);
      const release = () => {
        clearTimeout(t);
        set.delete(release);
        done();
      };
      set.add(release);
      return { promise, cancel: release };
    },
    get watching() {
      return [...waiting.values()].reduce((a, s) => a + s.size, 0);
    },
  };
  return { feed, wake: (id: string) => [...(waiting.get(id) ?? [])].forEach((r) => r()) };
}

/** The store, counting reads of event streams. */
class CountingStore extends MemoryJobStore {
  reads = 0;
  override async events(id: string, afterId = '0') {
    this.reads += 1;
    return super.events(id, afterId);
  }
}

const tick = () => new Promise((r) => setTimeout(r, 10));

/** Everything a subscription yields until it ends. */
async function drain(sub: Subscription): Promise<WireEvent[]> {
  const out: WireEvent[] = [];
  for (;;) {
    const batch = await sub.next(5000);
    if (batch === null) return out;
    out.push(...batch);
  }
}

async function job(store: MemoryJobStore) {
  const r = newRecord(resetPassword, { uid: 'regular1' }, 'regular1');
  await store.submit(r);
  return r;
}

it('orders stream ids by time, then sequence', () => {
  expect(compareEventIds('1000-1', '999-5')).toBeGreaterThan(0);
  expect(compareEventIds('1000-2', '1000-10')).toBeLessThan(0);
  expect(compareEventIds('1000-2', '1000-2')).toBe(0);
});

it('reads each job once per wake-up, whatever the number of watchers, and ends every stream after the final event', async () => {
  const store = new CountingStore();
  const { feed, wake } = manualFeed();
  const fanout = new EventFanout({ store, feed, pollMs: 60_000 });
  const r = await job(store);
  const subs = Array.from({ length: 500 }, () => fanout.watch(r.id, '0'));
  const all = subs.map(drain);
  await tick();
  const readsAfterJoin = store.reads;
  expect(readsAfterJoin).toBe(1);
  expect(fanout.jobs).toBe(1);

  const running = { ...r, state: 'running' as const };
  await store.save(running, [{ type: 'step_started', data: { step: 'reset' } }]);
  wake(r.id);
  await tick();
  expect(store.reads).toBe(readsAfterJoin + 1);

  await store.save({ ...running, state: 'completed' }, [{ type: 'step_completed', data: {} }, { type: 'completed', data: { at: 'now' } }]);
  wake(r.id);
  const seen = await Promise.all(all);
  expect(store.reads).toBe(readsAfterJoin + 2);
  for (const events of seen) expect(events.map((e) => e.event)).toEqual(['queued', 'step_started', 'step_completed', 'completed']);
  // Data goes out as JSON, serialized once.
  expect(seen[0]![3]!.data).toBe('{"at":"now"}');
  expect(seen[0]![3]).toBe(seen[499]![3]);
  await tick();
  expect(fanout.jobs).toBe(0);
});

it('serves a late joiner and a Last-Event-ID resume from memory', async () => {
  const store = new CountingStore();
  const { feed, wake } = manualFeed();
  const fanout = new EventFanout({ store, feed, pollMs: 60_000 });
  const r = await job(store);
  const first = fanout.watch(r.id, '0');
  expect((await first.next(1000))!.map((e) => e.event)).toEqual(['queued']);
  await store.save({ ...r, state: 'running' }, [{ type: 'step_started', data: {} }]);
  wake(r.id);
  expect((await first.next(1000))!.map((e) => e.event)).toEqual(['step_started']);
  await tick();
  const reads = store.reads;
  const queuedId = (await store.events(r.id))[0]!.id;
  store.reads = reads;
  const late = fanout.watch(r.id, '0');
  const resumed = fanout.watch(r.id, queuedId);
  expect((await late.next(1000))!.map((e) => e.event)).toEqual(['queued', 'step_started']);
  expect((await resumed.next(1000))!.map((e) => e.event)).toEqual(['step_started']);
  expect(store.reads).toBe(reads);
  for (const s of [first, late, resumed]) s.close();
  await tick();
  expect(fanout.jobs).toBe(0);
});

it('an idle stream ends after its bound; a closed one at once', async () => {
  const store = new CountingStore();
  const { feed } = manualFeed();
  const fanout = new EventFanout({ store, feed, pollMs: 60_000 });
  const r = await job(store);
  const sub = fanout.watch(r.id, '0');
  expect((await sub.next(1000))!.map((e) => e.event)).toEqual(['queued']);
  const t0 = Date.now();
  expect(await sub.next(100)).toBeNull();
  expect(Date.now() - t0).toBeLessThan(1000);
  const other = fanout.watch(r.id, '0');
  await other.next(1000);
  const pending = other.next(60_000);
  other.close();
  expect(await pending).toBeNull();
  sub.close();
});

it('a job that is gone ends its streams at the next poll', async () => {
  const store = new CountingStore();
  const { feed } = manualFeed();
  const fanout = new EventFanout({ store, feed, pollMs: 50 });
  const r = await job(store);
  const sub = fanout.watch(r.id, '0');
  expect((await sub.next(1000))!.map((e) => e.event)).toEqual(['queued']);
  store.records.delete(r.id);
  expect(await sub.next(5000)).toBeNull();
});

/** A feed whose notifications carry the events, as the Redis hub's do (save.lua). */
function newsFeed(store: MemoryJobStore) {
  const listeners = new Map<string, Set<(n: JobNews | null) => void>>();
  const feed: JobEventFeed = {
    waiter: () => ({ promise: new Promise<void>(() => undefined), cancel: () => undefined }),
    listen(id, fn) {
      const set = listeners.get(id) ?? new Set();
      listeners.set(id, set);
      set.add(fn);
      return () => set.delete(fn);
    },
    watching: 0,
  };
  /** Notifies the last `k` events of the job's stream, with the record's version now (or a bare wake-up). */
  const notify = async (id: string, k: number | null) => {
    const all = await MemoryJobStore.prototype.events.call(store, id);
    const news = k === null ? null : { version: store.records.get(id)!.version, events: all.slice(all.length - k) };
    for (const fn of listeners.get(id) ?? []) fn(news);
  };
  return { feed, notify };
}

it('with notifications that carry the events, a reader reads the stream only to start and after a missed one', async () => {
  const store = new CountingStore();
  const { feed, notify } = newsFeed(store);
  const fanout = new EventFanout({ store, feed, pollMs: 60_000 });
  const r = await job(store);
  // The route read the record (version 0) before watching.
  const subs = Array.from({ length: 100 }, () => fanout.watch(r.id, '0', 0));
  const all = subs.map(drain);
  await tick();
  expect(store.reads).toBe(1);
  const running = { ...r, state: 'running' as const };
  await store.save(running, [{ type: 'step_started', data: { n: 1 } }]);
  await notify(r.id, 1);
  await tick();
  expect(store.reads).toBe(1);
  // Two saves, the first notification lost: the second's version shows the gap, and the reader reads.
  await store.save({ ...running, version: running.version }, [{ type: 'step_completed', data: {} }]);
  await store.save({ ...running, version: running.version + 1 }, [{ type: 'step_started', data: { n: 2 } }]);
  await notify(r.id, 1);
  await tick();
  expect(store.reads).toBe(2);
  await store.save({ ...running, version: running.version + 2, state: 'completed' }, [{ type: 'completed', data: {} }]);
  await notify(r.id, 1);
  const seen = await Promise.all(all);
  expect(store.reads).toBe(2);
  for (const events of seen) expect(events.map((e) => e.event)).toEqual(['queued', 'step_started', 'step_completed', 'step_started', 'completed']);
});
