/**
 * Event streams fanned out in memory (docs/api.md#events): one reader per job
 * per API process, however many clients watch it. The reader keeps the job's
 * events from the first (a stream holds tens of them), reads the job's Redis
 * Stream once per wake-up (or poll, `sse_poll_ms`) and hands each new event
 * to every local watcher; a watcher that joins late, or resumes after a
 * `Last-Event-ID`, is served its history from that memory. So Redis reads per
 * event do not grow with the number of watchers, and each event's data is
 * serialized once, not once per watcher.
 *
 * The stream stays the truth and the wake-up a hint: a missed wake-up delays
 * events by at most the poll interval, never loses one.
 */
import { FINAL_EVENTS, isFinished, type StoredEvent } from '../../core/model/job';
import type { JobEventFeed, JobStore } from '../../core/ports';

/** An event as sent to clients: `data` is already JSON (sent as is, see app.ts's SSE serializer). */
export interface WireEvent {
  id: string;
  event: string;
  data: string;
}

/** Stream entry ids (`<ms>-<seq>`) in order. */
export function compareEventIds(a: string, b: string): number {
  const [am = 0, as = 0] = a.split('-').map(Number);
  const [bm = 0, bs = 0] = b.split('-').map(Number);
  return am - bm || as - bs;
}

/** What the route reads events from: the next batch, or `null` once the stream is over (final event sent, job gone, idle, closed). */
export interface Subscription {
  next(idleMs: number): Promise<WireEvent[] | null>;
  close(): void;
}

interface Watcher {
  /** The last event id this watcher has been given. */
  after: string;
  queue: WireEvent[];
  /** Set once no more events will come; the queue is still delivered. */
  done: boolean;
  wake?: () => void;
}

const READ_BATCH = 1000;

/** One job's reader: its events so far, and who watches them. */
class JobReader {
  readonly events: WireEvent[] = [];
  readonly watchers = new Set<Watcher>();
  /** No more events will come: the final one is read, or the job is gone. */
  ended = false;
  private after = '0';
  private cancelWait?: () => void;

  constructor(
    private readonly id: string,
    private readonly deps: { store: JobStore; feed: JobEventFeed; pollMs: number },
    private readonly onIdle: () => void,
  ) {}

  /** Adds a watcher and gives it what it missed. */
  join(w: Watcher): void {
    this.watchers.add(w);
    this.deliver(w, this.events);
    if (this.ended) this.finish(w);
  }

  leave(w: Watcher): void {
    this.watchers.delete(w);
    if (this.watchers.size === 0) {
      this.cancelWait?.();
      this.onIdle();
    }
  }

  /** Reads until the job's stream is over or nobody watches. */
  async run(): Promise<void> {
    try {
      while (!this.ended && this.watchers.size > 0) {
        const wait = this.deps.feed.waiter(this.id, this.deps.pollMs); // registered before reading: nothing slips between
        this.cancelWait = wait.cancel;
        const fresh = await this.read();
        if (fresh.length === 0) {
          // Quiet: gone (expired while watched) or finished? A finished job's final
          // event is written with its record, so one more read has it.
          const record = await this.deps.store.get(this.id);
          if (!record || isFinished(record)) {
            if (record) this.publish(await this.read());
            wait.cancel();
            this.end();
            return;
          }
        } else {
          this.publish(fresh);
        }
        if (this.ended) {
          wait.cancel();
          return;
        }
        await wait.promise;
      }
    } catch {
      // Redis trouble: end the streams; clients reconnect with Last-Event-ID.
      this.end();
    }
  }

  stop(): void {
    this.cancelWait?.();
    this.end();
  }

  private async read(): Promise<WireEvent[]> {
    const out: WireEvent[] = [];
    for (;;) {
      const batch: StoredEvent[] = await this.deps.store.events(this.id, this.after, READ_BATCH);
      for (const e of batch) {
        out.push({ id: e.id, event: e.type, data: JSON.stringify(e.data) });
        this.after = e.id;
      }
      if (batch.length < READ_BATCH) return out;
    }
  }

  private publish(fresh: WireEvent[]): void {
    if (fresh.length === 0) return;
    this.events.push(...fresh);
    if (fresh.some((e) => FINAL_EVENTS.has(e.event))) this.ended = true;
    for (const w of this.watchers) {
      this.deliver(w, fresh);
      if (this.ended) this.finish(w);
    }
  }

  private deliver(w: Watcher, events: readonly WireEvent[]): void {
    let added = false;
    for (const e of events) {
      if (compareEventIds(e.id, w.after) <= 0) continue;
      w.queue.push(e);
      w.after = e.id;
      added = true;
    }
    if (added) w.wake?.();
  }

  private finish(w: Watcher): void {
    w.done = true;
    w.wake?.();
  }

  private end(): void {
    this.ended = true;
    for (const w of this.watchers) this.finish(w);
  }
}

export class EventFanout {
  private readonly readers = new Map<string, JobReader>();

  constructor(private readonly deps: { store: JobStore; feed: JobEventFeed; pollMs: number }) {}

  /** Jobs with a reader now, for metrics and tests. */
  get jobs(): number {
    return this.readers.size;
  }

  /** Watches job `id` from after event `after` ("0": from the start). */
  watch(id: string, after: string): Subscription {
    let reader = this.readers.get(id);
    const fresh = !reader;
    if (!reader) {
      const r: JobReader = new JobReader(id, this.deps, () => {
        if (this.readers.get(id) === r) this.readers.delete(id);
      });
      this.readers.set(id, r);
      reader = r;
    }
    const w: Watcher = { after, queue: [], done: false };
    reader.join(w);
    const r = reader;
    if (fresh) void r.run().finally(() => this.forget(id, r));
    let closed = false;
    return {
      next: (idleMs) => {
        if (closed) return Promise.resolve(null);
        if (w.queue.length > 0) return Promise.resolve(w.queue.splice(0));
        if (w.done) return Promise.resolve(null);
        return new Promise<WireEvent[] | null>((resolve) => {
          const timer = setTimeout(() => {
            w.wake = undefined;
            resolve(null); // idle: no news for idleMs
          }, idleMs);
          w.wake = () => {
            clearTimeout(timer);
            w.wake = undefined;
            if (closed) resolve(null);
            else if (w.queue.length > 0) resolve(w.queue.splice(0));
            else resolve(w.done ? null : []);
          };
        });
      },
      close: () => {
        if (closed) return;
        closed = true;
        w.wake?.();
        r.leave(w);
      },
    };
  }

  /** Ends every stream (the API is closing). */
  close(): void {
    for (const r of this.readers.values()) r.stop();
    this.readers.clear();
  }

  private forget(id: string, r: JobReader): void {
    if (this.readers.get(id) === r) this.readers.delete(id);
  }
}
