/**
 * Wakes SSE streams when their job gets new events (the `JobEventFeed` port). One Redis subscriber per
 * API process, fanned out in memory, so a thousand watchers cost one
 * connection. Pub/sub can miss a message (a reconnect), so a waiter also wakes
 * on a timeout and re-reads the stream: the stream is the truth, not the hint.
 */
import type { Redis } from 'ioredis';
import type { JobEventFeed } from '../core/ports';

export class EventHub implements JobEventFeed {
  private readonly waiters = new Map<string, Set<() => void>>();
  private started = false;

  constructor(
    private readonly subscriber: Redis,
    private readonly channel: string,
  ) {}

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.subscriber.on('message', (_channel: string, jobId: string) => this.wake(jobId));
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

  /** Number of streams waiting, for metrics and tests. */
  get watching(): number {
    let n = 0;
    for (const s of this.waiters.values()) n += s.size;
    return n;
  }

  private wake(jobId: string): void {
    const set = this.waiters.get(jobId);
    if (!set) return;
    for (const release of [...set]) release();
  }

  async stop(): Promise<void> {
    for (const id of [...this.waiters.keys()]) this.wake(id);
    if (this.started) await this.subscriber.unsubscribe(this.channel).catch(() => undefined);
  }
}
