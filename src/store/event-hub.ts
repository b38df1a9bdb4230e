/**
 * Wakes SSE streams when their job gets new events (the `JobEventFeed` port). One Redis subscriber per
 * API process, fanned out in memory, so a thousand watchers cost one
 * connection. A notification carries the new events (save.lua, submit.lua),
 * so a reader that has all before them needs no read. Pub/sub can miss a
 * message (a reconnect), so a waiter also wakes on a timeout and re-reads the
 * stream: the stream is the truth, not the hint.
 */
import type { Redis } from 'ioredis';
import type { JobEventType } from '../core/model/job';
import type { JobEventFeed, JobNews } from '../core/ports';

/** `<job id>\n<record version>[\n<entry id>\n<type>\n<data JSON>…]`, or a bare job id (a wake-up without news). */
export function parseNews(message: string): { jobId: string; news: JobNews | null } {
  const lines = message.split('\n');
  const jobId = lines[0]!;
  const version = Number(lines[1]);
  if (lines.length < 2 || (lines.length - 2) % 3 !== 0 || !Number.isInteger(version)) return { jobId, news: null };
  const events = [];
  try {
    for (let i = 2; i < lines.length; i += 3) events.push({ id: lines[i]!, type: lines[i + 1] as JobEventType, data: JSON.parse(lines[i + 2]!) as Record<string, unknown> });
  } catch {
    return { jobId, news: null };
  }
  return { jobId, news: { version, events } };
}

export class EventHub implements JobEventFeed {
  private readonly waiters = new Map<string, Set<() => void>>();
  private readonly listeners = new Map<string, Set<(news: JobNews | null) => void>>();
  private started = false;

  constructor(
    private readonly subscriber: Redis,
    private readonly channel: string,
  ) {}

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.subscriber.on('message', (_channel: string, message: string) => this.receive(message));
    await this.subscriber.subscribe(this.channel);
  }

  /**
   * Registers interest *before* the caller reads the stream, so an event that
   * lands between the read and the wait still wakes it. Resolves on the next
   * notification for `jobId`, or after `timeoutMs`; `cancel` releases it early.
   */
  waiter(jobId: string, timeoutMs: number): { promise: Promise<void>; cancel: () => void } {
    let done!: () => void;
    const promise = new Promise<void>((resolve) => (done = resolve));
    const set = this.waiters.get(jobId) ?? new Set();
    this.waiters.set(jobId, set);
    const timer = setTimeout(() => release(), timeoutMs);
    const release = () => {
      clearTimeout(timer);
      set.delete(release);
      if (set.size === 0 && this.waiters.get(jobId) === set) this.waiters.delete(jobId);
      done();
    };
    set.add(release);
    return { promise, cancel: release };
  }

  listen(jobId: string, onNews: (news: JobNews | null) => void): () => void {
    const set = this.listeners.get(jobId) ?? new Set();
    this.listeners.set(jobId, set);
    set.add(onNews);
    return () => {
      set.delete(onNews);
      if (set.size === 0 && this.listeners.get(jobId) === set) this.listeners.delete(jobId);
    };
  }

  /** Number of streams waiting, for metrics and tests. */
  get watching(): number {
    let n = 0;
    for (const s of this.waiters.values()) n += s.size;
    return n;
  }

  private receive(message: string): void {
    const nl = message.indexOf('\n');
    const jobId = nl < 0 ? message : message.slice(0, nl);
    this.wake(jobId);
    const listening = this.listeners.get(jobId);
    if (!listening) return; // nobody here watches this job: not even parsed
    const { news } = parseNews(message);
    for (const l of [...listening]) l(news);
  }

  private wake(jobId: string): void {
    const set = this.waiters.get(jobId);
    if (!set) return;
    for (const release of [...set]) release();
  }

  async stop(): Promise<void> {
    for (const id of [...this.waiters.keys()]) this.wake(id);
    for (const set of [...this.listeners.values()]) for (const l of [...set]) l(null);
    this.listeners.clear();
    if (this.started) await this.subscriber.unsubscribe(this.channel).catch(() => undefined);
  }
}
