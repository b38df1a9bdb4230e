/** A short Redis mutex shared by every host, e.g. around uid number allocation. */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { TransientError } from '../errors';

const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;
const EXTEND = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0`;

export interface MutexOptions {
  /**
   * The lock expires this long after its holder stops renewing it (the holder
   * renews it every ttlMs / 3 while its work runs). Keep it short: a holder that
   * was SIGKILLed blocks everyone else until it expires.
   */
  ttlMs: number;
  /** Give up (transient LOCK_BUSY, so the step retries) after waiting this long. */
  waitMs: number;
}

export async function withMutex<T>(redis: Redis, key: string, opts: MutexOptions, work: () => Promise<T>): Promise<T> {
  const token = randomUUID();
  const deadline = Date.now() + opts.waitMs;
  let pause = 2;
  while ((await redis.set(key, token, 'PX', opts.ttlMs, 'NX')) !== 'OK') {
    if (Date.now() > deadline) throw new TransientError('LOCK_BUSY', `mutex ${key.split(':').pop()} is busy`);
    await new Promise((r) => setTimeout(r, pause + Math.random() * pause));
    pause = Math.min(pause * 2, 50);
  }
  const renew = setInterval(() => void redis.eval(EXTEND, 1, key, token, String(opts.ttlMs)).catch(() => undefined), Math.max(1, Math.floor(opts.ttlMs / 3)));
  renew.unref();
  try {
    return await work();
  } finally {
    clearInterval(renew);
    await redis.eval(RELEASE, 1, key, token);
  }
}
