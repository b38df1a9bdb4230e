/**
 * Coordination between hosts in Redis (the `Coordination` port): a short
 * mutex, renewed while held, and the id-allocation floors
 * (docs/directory.md#uid-numbers).
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { TransientError } from '../core/errors';
import type { Logger } from '../core/log';
import type { Coordination, IdFloors } from '../core/ports';
import { keys, type Keys } from './keys';
import { type ScriptedRedis, withScripts } from './scripts';

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

export interface CoordinationOptions {
  prefix: string;
  mutex: MutexOptions;
  /** A floor expires this long after it was last set, so numbers freed by hand are found again. */
  idFloorTtlMs: number;
  log?: Logger;
}

/** Runs `work` holding the mutex `key`; see MutexOptions. */
export async function withMutex<T>(redis: Redis, key: string, opts: MutexOptions, work: () => Promise<T>, log?: Logger): Promise<T> {
  const r = withScripts(redis);
  const token = randomUUID();
  const deadline = Date.now() + opts.waitMs;
  let pause = 2;
  while ((await r.set(key, token, 'PX', opts.ttlMs, 'NX')) !== 'OK') {
    if (Date.now() > deadline) throw new TransientError('LOCK_BUSY', `mutex ${key.split(':').pop()} is busy`);
    await new Promise((res) => setTimeout(res, pause + Math.random() * pause));
    pause = Math.min(pause * 2, 50);
  }
  const renew = setInterval(() => {
    // A missed renewal is survivable (the next one, or the TTL, settles it); it is logged, not thrown.
    r.ceodExtend(key, token, String(opts.ttlMs)).catch((err: unknown) => log?.warn({ mutex: key, err: String(err) }, 'mutex renewal failed'));
  }, Math.max(1, Math.floor(opts.ttlMs / 3)));
  renew.unref();
  try {
    return await work();
  } finally {
    clearInterval(renew);
    await r.ceodRelease(key, token);
  }
}

export class RedisCoordination implements Coordination {
  private readonly redis: ScriptedRedis;
  private readonly key: Keys;
  readonly idFloors: IdFloors;

  constructor(
    redis: Redis,
    private readonly opts: CoordinationOptions,
  ) {
    this.redis = withScripts(redis);
    this.key = keys(opts.prefix);
    const { idFloorTtlMs: ttl } = opts;
    this.idFloors = {
      get: async (pool) => {
        const v = await this.redis.get(this.key.idFloor(pool));
        return v === null ? null : Number(v);
      },
      set: async (pool, n) => void (await this.redis.set(this.key.idFloor(pool), n, 'PX', ttl)),
      lower: async (pool, n) => void (await this.redis.ceodLowerFloor(this.key.idFloor(pool), n, ttl)),
    };
  }

  withLock<T>(name: string, work: () => Promise<T>, opts: { waitMs?: number } = {}): Promise<T> {
    return withMutex(this.redis, this.key.mutex(name), { ...this.opts.mutex, ...opts }, work, this.opts.log);
  }
}
