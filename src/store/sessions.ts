/**
 * The session generations in Redis (the `SessionRegistry` port):
 * `<p>:session-gen:<uid>`, bumped to revoke a user's sessions. A bumped
 * generation is kept as long as the longest session may live, after which
 * every cookie issued before it has expired anyway.
 */
import type { Redis } from 'ioredis';
import type { SessionRegistry } from '../core/ports';
import { keys, type Keys } from './keys';

export class RedisSessions implements SessionRegistry {
  private readonly key: Keys;

  constructor(
    private readonly redis: Redis,
    private readonly opts: { prefix: string; maxSessionTtlS: number },
  ) {
    this.key = keys(opts.prefix);
  }

  async generation(uid: string): Promise<number> {
    const v = await this.redis.get(this.key.sessionGen(uid));
    return v === null ? 0 : Number(v);
  }

  async revoke(uids: readonly string[]): Promise<void> {
    if (uids.length === 0) return;
    const m = this.redis.multi();
    for (const uid of uids) m.incr(this.key.sessionGen(uid)).expire(this.key.sessionGen(uid), this.opts.maxSessionTtlS);
    await m.exec();
  }
}
