/**
 * Event streams fanned out in memory (docs/api.md#events): one reader per job
 * per API process, however many clients watch it. The reader keeps the job's
 * events from the first (a stream holds tens of them), reads the job's Redis
 * Stream once per wake-up (or poll, `sse_poll_ms`) and hands each new event
 * to every local watcher; a watcher that joins late, or resumes after a
 * `Last-Event-ID`, is served its history from that memory. The notifications
 * carry the new events, so a reader reads the stream only when it starts, after
 * a missed notification, or when a poll interval passed quietly. So Redis reads
 * per event do not grow with the number of watchers (in the normal case there
 * are none), and each event's data is serialized once, not once per watcher.
 *
 * The stream stays the truth and the wake-up a hint: a missed wake-up delays
 * events by at most the poll interval, never loses one.
 */
import { FINAL_EVENTS, isFinished, type StoredEvent } from '../../core/model/job';
import type { JobEventFeed, JobNews, JobStore } from '../../core/ports';

/** An event as sent to clients: `data` is already JSON, and `frame` the whole SSE message, made once for every watcher. */
export interface WireEvent {
  id: string;
  event: string;
  data: string;
  /** `id: …\nevent: …\ndata: …\n\n` (event data is JSON: one line). */
  frame: Buffer;
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

function wire(e: StoredEvent): WireEvent {
  const data = JSON.stringify(e.data);
  return { id: e.id, event: e.type, data, frame: Buffer.from(`id: ${e.id}\nevent: ${e.type}\ndata: ${data}\n\n`) };
}

/**
 * One job's reader: its events so far, and who watches them. It is fed by the
 * feed's notifications, which carry the new events: those that follow what it
 * has are handed out as they are; a gap (a notification missed), a bare
 * wake-up or a quiet poll interval makes it read the stream from its last id.
 * One pass at a time (`pump`), so events go out in order.
 */
class JobReader {
  readonly events: WireEvent[] = [];
  readonly watchers = new Set<Watcher>();
  /** No more events will come: the final one is read, or the job is gone. */
  ended = false;
  private after = '0';
  /** The record version whose events this reader has all of (−1: unknown, the next notification reads). */
  private version: number;
  private readonly inbox: (JobNews | null)[] = [];
  private busy = false;
  private needRead = true;
  private stopFeed?: () => void;
  private poll?: NodeJS.Timeout;

  constructor(
    private readonly id: string,
    private readonly deps: { store: JobStore; feed: JobEventFeed; pollMs: number },
    private readonly onGone: () => void,
    /** The version of the record read before this reader's first read of the stream (its events are all in that read). */
    version?: number,
  ) {
    this.version = version ?? -1;
  }

  start(): void {
    const { feed } = this.deps;
    const onNews = (news: JobNews | null) => {
      this.inbox.push(news);
      this.pump();
    };
    if (feed.listen) {
      this.stopFeed = feed.listen(this.id, onNews);
    } else {
      // A feed that only wakes: each wake-up (or timeout) is a bare one.
      let alive = true;
      let wait: { promise: Promise<void>; cancel: () => void } | undefined;
      this.stopFeed = () => {
        alive = false;
        wait?.cancel();
      };
      void (async () => {
        while (alive && !this.ended) {
          wait = feed.waiter(this.id, this.deps.pollMs);
          await wait.promise;
          if (alive) onNews(null);
        }
      })();
    }
    this.pump();
  }

  /** Adds a watcher and gives it what it missed. */
  join(w: Watcher): void {
    this.watchers.add(w);
    this.deliver(w, this.events);
    if (this.ended) this.finish(w);
  }

  leave(w: Watcher): void {
    this.watchers.delete(w);
    if (this.watchers.size === 0) this.stop();
  }

  /** Stops reading; ends the streams still watching. */
  stop(): void {
    this.end();
  }

  private pump(): void {
    if (this.busy || this.ended) return;
    this.busy = true;
    clearTimeout(this.poll);
    this.drain()
      .catch(() => this.end()) // Redis trouble: end the streams; clients reconnect with Last-Event-ID.
      .finally(() => {
        this.busy = false;
        if (this.ended) return;
        if (this.needRead || this.inbox.length > 0) this.pump();
        else this.arm();
      });
  }

  /** With no news for a poll interval, read anyway: a notification may have been missed. */
  private arm(): void {
    clearTimeout(this.poll);
    this.poll = setTimeout(() => {
      this.needRead = true;
      this.pump();
    }, this.deps.pollMs);
    this.poll.unref?.();
  }

  private async drain(): Promise<void> {
    while (!this.ended && (this.needRead || this.inbox.length > 0)) {
      if (!this.needRead) {
        const news = this.inbox.shift()!;
        if (news !== null && news.version <= this.version) continue; // already read
        if (news !== null && news.version === this.version + 1) {
          this.version = news.version;
          this.publish(news.events.filter((e) => compareEventIds(e.id, this.after) > 0).map(wire));
          continue;
        }
        // A bare wake-up, or a write this reader never heard of before this one: read the
        // stream, which then holds every event up to this write.
        if (news !== null) this.version = news.version;
        this.needRead = true;
        continue;
      }
      this.needRead = false;
      const fresh = await this.read();
      if (fresh.length > 0) {
        this.publish(fresh);
        continue;
      }
      // Quiet: gone (expired while watched) or finished? A finished job's final
      // event is written with its record, so one more read has it.
      const record = await this.deps.store.get(this.id);
      if (!record || isFinished(record)) {
        if (record) this.publish(await this.read());
        this.end();
      }
    }
  }

  private async read(): Promise<WireEvent[]> {
    const out: WireEvent[] = [];
    let cursor = this.after;
    for (;;) {
      const batch: StoredEvent[] = await this.deps.store.events(this.id, cursor, READ_BATCH);
      for (const e of batch) out.push(wire(e));
      if (batch.length > 0) cursor = batch[batch.length - 1]!.id;
      if (batch.length < READ_BATCH) return out;
    }
  }

  private publish(fresh: WireEvent[]): void {
    if (fresh.length === 0 || this.ended) return;
    this.events.push(...fresh);
    this.after = fresh[fresh.length - 1]!.id;
    const final = fresh.some((e) => FINAL_EVENTS.has(e.event));
    for (const w of this.watchers) this.deliver(w, fresh);
    if (final) this.end();
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
    if (!this.ended) {
      this.ended = true;
      this.stopFeed?.();
      clearTimeout(this.poll);
      this.onGone();
    }
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

  /**
   * Watches job `id` from after event `after` ("0": from the start).
   * `version`: of the job's record, read just before (it spares a new reader one read).
   */
  watch(id: string, after: string, version?: number): Subscription {
    let reader = this.readers.get(id);
    const fresh = !reader;
    if (!reader) {
      const r: JobReader = new JobReader(
        id,
        this.deps,
        () => {
          if (this.readers.get(id) === r) this.readers.delete(id);
        },
        version,
      );
      this.readers.set(id, r);
      reader = r;
    }
    const w: Watcher = { after, queue: [], done: false };
    reader.join(w);
    const r = reader;
    if (fresh) r.start();
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
    for (const r of [...this.readers.values()]) r.stop();
    this.readers.clear();
  }
}
