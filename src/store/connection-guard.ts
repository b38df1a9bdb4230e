/**
 * Keeps one of the process's Redis connections alive through a failover.
 *
 * ioredis retries a lost connection for ever, except in one state it never
 * leaves: `end`, where a connect that failed mid-way leaves it (behind
 * Sentinel, a disconnect landing while it asks the Sentinels for the master:
 * bullmq#4378; ioredis's own `failoverDetector` does exactly that, which is why
 * ceod leaves it off). A connection in `end` makes every later command fail
 * at once, so an API answers 503 for ever. The guard looks every `intervalMs`
 * and connects it again, saying so in the log.
 *
 * It also listens for the connection's errors, which ioredis otherwise prints
 * as "Unhandled error event", and logs them at most once per `quietMs`.
 */
import type { Redis } from 'ioredis';
import type { Logger } from '../core/log';

export interface ConnectionGuard {
  /** How many times it connected an ended connection again. */
  readonly revived: number;
  stop(): void;
}

export function guardConnection(redis: Redis, log: Logger, name: string, opts: { intervalMs?: number; quietMs?: number } = {}): ConnectionGuard {
  const quietMs = opts.quietMs ?? 10_000;
  let lastLogged = 0;
  let stopped = false;
  let revived = 0;
  redis.on('error', (err: Error) => {
    const now = Date.now();
    if (now - lastLogged < quietMs) return;
    lastLogged = now;
    log.warn({ connection: name, error: err.message }, 'Redis connection error (retrying)');
  });
  const timer = setInterval(() => {
    if (stopped || redis.status !== 'end') return;
    revived += 1;
    log.warn({ connection: name, revived }, 'Redis connection had ended; connecting it again');
    redis.connect().catch(() => undefined);
  }, opts.intervalMs ?? 1000);
  timer.unref();
  return {
    get revived() {
      return revived;
    },
    stop() {
      stopped = true;
      clearInterval(timer);
    },
  };
}
