/**
 * The session generations in Redis (the `SessionRegistry` port):
 * `<p>:session-gen:<uid>`, bumped to revoke a user's sessions. It never
 * expires: were it to fall back to 0, a later revoke would make 1 again, and a
 * cookie issued under an earlier 1 would be valid once more. One small key per
 * user whose sessions were ever revoked.
 */
import type { Redis } from 'ioredis';
import type { SessionRegistry } from '../core/ports';
import { keys, type Keys } from './keys';

export class RedisSessions implements SessionRegistry {
  private readonly key: Keys;

  constructor(
    private readonly redis: Redis,
    opts: { prefix: string },
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
    for (const uid of uids) m.incr(this.key.sessionGen(uid));
    await m.exec();
  }
}
