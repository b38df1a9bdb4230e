/**
 * The worker watchdog: BullMQ users report workers that stop taking jobs
 * after a Redis failover without a word (bullmq#4378: the blocking connection
 * parked in ioredis's terminal `end` state; #3088, #3185: `isRunning()` true,
 * jobs waiting, none taken; #648: `UNBLOCKED … master -> replica` ending the
 * loop). BullMQ 6 fixes the cases it knows of; this is the net under them.
 *
 * Every `intervalMs`, for each role's queue worker, it looks at:
 * - its blocking connection (a duplicate BullMQ makes) sitting in `end`
 *   (ioredis never leaves it by itself; the process's shared connection has a
 *   guard of its own, src/store/connection-guard.ts);
 * - whether it takes jobs: jobs waiting in its queue, a free slot, and no job
 *   taken for `stuckMs`, that long in a row.
 * Either way the runner recreates that worker (a new one, with a new blocking
 * connection), says so in the log, and counts it (`recreated`). A look that
 * cannot reach Redis (a failover in progress) decides nothing.
 */
import type { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from '../core/log';
import type { Role } from '../core/model/roles';

/** What the watchdog knows of one role's queue worker; the runner keeps it current. */
export interface Consumer {
  role: Role;
  worker: Worker;
  /** Step jobs in hand. */
  inFlight: number;
  concurrency: number;
  /** When it last took a job (or was created). */
  lastTakenAt: number;
}

export interface WatchdogDeps {
  /** The role workers, as they are now (the runner replaces entries it recreates). */
  consumers(): Iterable<Consumer>;
  /** Jobs waiting in a role's queue. */
  waiting(role: Role): Promise<number>;
  /** Replaces a role's worker with a new one. */
  recreate(role: Role, reason: string): Promise<void>;
  log: Logger;
  intervalMs: number;
  /** How long a worker may take no job while jobs wait and it has a free slot. */
  stuckMs: number;
  now?: () => number;
}

/** ioredis statuses; `end` is terminal: no reconnect will follow. */
type Status = Redis['status'];

/** A client's status, or null when BullMQ has not made the client yet (or within `ms`). */
async function statusOf(client: Promise<unknown> | undefined, ms: number): Promise<Status | null> {
  if (!client) return null;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<null>((r) => {
    timer = setTimeout(() => r(null), ms);
  });
  try {
    const c = (await Promise.race([client.catch(() => null), late])) as { status?: Status } | null;
    return c?.status ?? null;
  } finally {
    clearTimeout(timer);
  }
}

/** BullMQ's Redis backend exposes its clients as promises; other backends do not have them. */
interface RedisBackend {
  client?: Promise<unknown>;
  blockingClient?: Promise<unknown>;
}

export class Watchdog {
  private timer?: NodeJS.Timeout;
  private ticking = false;
  /** Per role: since when jobs have waited while the worker had a free slot and took none. */
  private readonly idleSince = new Map<Role, number>();
  /** How many times a worker was recreated, by role (for metrics). */
  readonly recreated = new Map<Role, number>();
  private readonly now: () => number;

  constructor(private readonly deps: WatchdogDeps) {
    this.now = deps.now ?? Date.now;
  }

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.deps.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Total recreations in this process. */
  get total(): number {
    let n = 0;
    for (const v of this.recreated.values()) n += v;
    return n;
  }

  /** One look at every worker; acts on what it finds. Never throws. */
  async tick(): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    try {
      for (const c of [...this.deps.consumers()]) {
        const reason = await this.diagnose(c).catch(() => null);
        if (!reason) continue;
        this.idleSince.delete(c.role);
        this.recreated.set(c.role, (this.recreated.get(c.role) ?? 0) + 1);
        this.deps.log.warn({ watchdog: true, role: c.role, reason, recreated: this.recreated.get(c.role) }, `watchdog: recreating the ${c.role} queue worker: ${reason}`);
        try {
          await this.deps.recreate(c.role, reason);
        } catch (err) {
          this.deps.log.error({ watchdog: true, role: c.role, error: (err as Error).message }, 'watchdog: could not recreate the queue worker; trying again next round');
        }
      }
    } finally {
      this.ticking = false;
    }
  }

  /** Why this worker must be recreated, or null if it looks fine (or cannot be judged now). */
  private async diagnose(c: Consumer): Promise<string | null> {
    if (c.worker.closing) return null;
    const backend = (c.worker as unknown as { backend?: RedisBackend }).backend;
    const blocking = await statusOf(backend?.blockingClient, 1000);
    if (blocking === 'end') return "its blocking Redis connection is in ioredis's terminal 'end' state";
    if (!c.worker.isRunning()) return 'its processing loop has stopped';
    if (c.inFlight >= c.concurrency) {
      this.idleSince.delete(c.role);
      return null;
    }
    // Redis unreachable: this throws or times out, and nothing is decided.
    const waiting = await withDeadline(this.deps.waiting(c.role), Math.max(1000, this.deps.intervalMs));
    if (waiting === null) return null;
    const now = this.now();
    if (waiting === 0) {
      this.idleSince.delete(c.role);
      return null;
    }
    const since = this.idleSince.get(c.role);
    // First seen idle with work waiting, or it took a job since: (re)start the clock.
    if (since === undefined || c.lastTakenAt > since) {
      this.idleSince.set(c.role, now);
      return null;
    }
    if (now - since < this.deps.stuckMs) return null;
    return `${waiting} job(s) waiting, a free slot, and no job taken for ${Math.round((now - Math.max(since, c.lastTakenAt)) / 1000)} s`;
  }
}

async function withDeadline<T>(p: Promise<T>, ms: number): Promise<T | null> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<null>((r) => (timer = setTimeout(() => r(null), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
