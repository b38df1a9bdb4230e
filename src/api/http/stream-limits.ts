/**
 * Bounds on event streams (docs/api.md#events): each open stream holds a
 * connection and wakes on every event of its job, so one caller may hold at
 * most `perPrincipal` of them at once (429 beyond), the process at most
 * `total` (503 beyond, with Retry-After), and a stream with no new event for
 * `idleMs` is ended (the client reconnects with Last-Event-ID if it still cares).
 */
import { PermanentError, TransientError } from '../../core/errors';

export class StreamLimits {
  private readonly open = new Map<string, number>();
  private total = 0;

  constructor(private readonly limits: { perPrincipal: number; total: number; idleMs: number }) {}

  get idleMs(): number {
    return this.limits.idleMs;
  }

  /** Open streams now, for metrics and tests. */
  get count(): number {
    return this.total;
  }

  /** Takes a slot for `uid`, or refuses; the returned function gives it back (once). */
  acquire(uid: string): () => void {
    const mine = this.open.get(uid) ?? 0;
    if (mine >= this.limits.perPrincipal) {
      throw new PermanentError('TOO_MANY_STREAMS', `${uid} already has ${mine} event streams open (at most ${this.limits.perPrincipal}); close one first`);
    }
    if (this.total >= this.limits.total) throw new TransientError('TOO_MANY_STREAMS', 'this API host has too many event streams open; try again shortly');
    this.open.set(uid, mine + 1);
    this.total += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.total -= 1;
      const n = (this.open.get(uid) ?? 1) - 1;
      if (n <= 0) this.open.delete(uid);
      else this.open.set(uid, n);
    };
  }
}
