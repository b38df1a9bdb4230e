/**
 * The job records and their event streams in Redis: the truth about every job.
 *
 * - `<p>:job:<id>`      JSON `JobRecord`, written by the API at submit and by
 *                       the worker running the job's current step (one at a time).
 * - `<p>:events:<id>`   a Redis Stream of step transitions; its entry ids are
 *                       the SSE event ids, so a late or reconnecting client
 *                       replays from any point.
 * - `<p>:secrets:<id>`  hash of sealed secrets (see secret-box.ts).
 * - `<p>:lock:<key>`    the id of the job working on a resource (409s).
 * - `<p>:idem:<who>:<key>` the job an Idempotency-Key maps to.
 * - `<p>:active`        sorted set of unfinished job ids by last change, for
 *                       the reconciler.
 * - channel `<p>:events` carries the id of each job that got new events.
 */
import type { Redis } from 'ioredis';
import type { JobRecord } from './types';

export type JobEventType =
  | 'queued'
  | 'step_started'
  | 'step_retrying'
  | 'step_completed'
  | 'step_failed'
  | 'step_undone'
  | 'step_undo_failed'
  | 'warning'
  | 'completed'
  | 'failed'
  | 'rolled_back';

export const FINAL_EVENTS: ReadonlySet<string> = new Set(['completed', 'failed', 'rolled_back']);

export interface JobEvent {
  type: JobEventType;
  data: Record<string, unknown>;
}

export interface StoredEvent extends JobEvent {
  id: string;
}

export type SubmitOutcome =
  | { kind: 'created' }
  | { kind: 'conflict'; existingId: string }
  | { kind: 'idempotent'; existingId: string };

// KEYS: job, events, lock (or ""), idem (or ""), active; ARGV: id, record, lockTtl, idemTtl, now, eventData
const SUBMIT = `
if KEYS[4] ~= '' then
  local prior = redis.call('GET', KEYS[4])
  if prior then return {'idempotent', prior} end
end
if KEYS[3] ~= '' then
  local holder = redis.call('GET', KEYS[3])
  if holder then return {'conflict', holder} end
  redis.call('SET', KEYS[3], ARGV[1], 'PX', ARGV[3])
end
if KEYS[4] ~= '' then redis.call('SET', KEYS[4], ARGV[1], 'PX', ARGV[4]) end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('XADD', KEYS[2], '*', 'type', 'queued', 'data', ARGV[6])
redis.call('ZADD', KEYS[5], ARGV[5], ARGV[1])
return {'created', ARGV[1]}
`;

// KEYS: job, events, secrets, active, lock (or ""); ARGV: expectedVersion, record, finished, retentionMs, now, channel, id, then type/data pairs
const SAVE = `
local cur = redis.call('GET', KEYS[1])
if not cur then return -1 end
if tonumber(cjson.decode(cur).version) ~= tonumber(ARGV[1]) then return 0 end
local finished = ARGV[3] == '1'
if finished then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[4])
else
  redis.call('SET', KEYS[1], ARGV[2])
end
local n = 0
for i = 8, #ARGV, 2 do
  redis.call('XADD', KEYS[2], '*', 'type', ARGV[i], 'data', ARGV[i + 1])
  n = n + 1
end
if finished then
  redis.call('PEXPIRE', KEYS[2], ARGV[4])
  redis.call('PEXPIRE', KEYS[3], ARGV[4])
  redis.call('ZREM', KEYS[4], ARGV[7])
  if KEYS[5] ~= '' and redis.call('GET', KEYS[5]) == ARGV[7] then redis.call('DEL', KEYS[5]) end
else
  redis.call('ZADD', KEYS[4], ARGV[5], ARGV[7])
end
if n > 0 then redis.call('PUBLISH', ARGV[6], ARGV[7]) end
return 1
`;

// KEYS: lock; ARGV: id. Deletes the lock only if this job holds it.
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

export interface JobStoreOptions {
  prefix: string;
  /** How long finished records, events and secrets are kept. */
  retentionMs: number;
  /** A lock outlives a lost job by at most this long. */
  lockTtlMs?: number;
  idempotencyTtlMs?: number;
}

export class JobStore {
  readonly prefix: string;
  private readonly retentionMs: number;
  private readonly lockTtlMs: number;
  private readonly idemTtlMs: number;

  constructor(
    readonly redis: Redis,
    opts: JobStoreOptions,
  ) {
    this.prefix = opts.prefix;
    this.retentionMs = opts.retentionMs;
    this.lockTtlMs = opts.lockTtlMs ?? 7 * 24 * 3600_000;
    this.idemTtlMs = opts.idempotencyTtlMs ?? 24 * 3600_000;
  }

  key = {
    job: (id: string) => `${this.prefix}:job:${id}`,
    events: (id: string) => `${this.prefix}:events:${id}`,
    secrets: (id: string) => `${this.prefix}:secrets:${id}`,
    lock: (resource: string) => `${this.prefix}:lock:${resource}`,
    idem: (requester: string, key: string) => `${this.prefix}:idem:${requester}:${key}`,
    active: () => `${this.prefix}:active`,
    channel: () => `${this.prefix}:events`,
    mutex: (name: string) => `${this.prefix}:mutex:${name}`,
    idFloor: (name: string) => `${this.prefix}:id-floor:${name}`,
  };

  /** Creates the record atomically with its lock and idempotency key, or says who was first. */
  async submit(record: JobRecord, idempotencyKey?: string): Promise<SubmitOutcome> {
    const keys = [
      this.key.job(record.id),
      this.key.events(record.id),
      record.lockKey ? this.key.lock(record.lockKey) : '',
      idempotencyKey ? this.key.idem(record.requester, idempotencyKey) : '',
      this.key.active(),
    ];
    const eventData = JSON.stringify({ at: record.createdAt, type: record.type, requester: record.requester });
    const [kind, id] = (await this.redis.eval(
      SUBMIT,
      keys.length,
      ...keys,
      record.id,
      JSON.stringify(record),
      this.lockTtlMs,
      this.idemTtlMs,
      Date.now(),
      eventData,
    )) as [string, string];
    if (kind === 'created') {
      await this.redis.publish(this.key.channel(), record.id);
      return { kind };
    }
    return { kind: kind as 'conflict' | 'idempotent', existingId: id };
  }

  /** Undoes a submit whose enqueue failed: the caller answers 503, nothing is left behind. */
  async abandon(record: JobRecord, idempotencyKey?: string): Promise<void> {
    const m = this.redis.multi().del(this.key.job(record.id), this.key.events(record.id), this.key.secrets(record.id));
    m.zrem(this.key.active(), record.id);
    if (idempotencyKey) m.del(this.key.idem(record.requester, idempotencyKey));
    if (record.lockKey) m.eval(RELEASE, 1, this.key.lock(record.lockKey), record.id);
    await m.exec();
  }

  /** The job an Idempotency-Key already maps to, if any. */
  async idempotent(requester: string, key: string): Promise<string | null> {
    return this.redis.get(this.key.idem(requester, key));
  }

  async get(id: string): Promise<JobRecord | null> {
    const raw = await this.redis.get(this.key.job(id));
    return raw ? (JSON.parse(raw) as JobRecord) : null;
  }

  /**
   * Writes the record if nobody else wrote it since it was read (its `version`
   * is still `expectedVersion`), appends its events and wakes SSE listeners, all
   * in one script. Returns false if the record moved on or is gone: the caller
   * is a stale duplicate (a stalled lock, a redelivery) and must drop its work.
   */
  async save(record: JobRecord, events: JobEvent[] = []): Promise<boolean> {
    const expected = record.version;
    record.version = expected + 1;
    const finished = record.state === 'completed' || record.state === 'failed' || record.state === 'rolled_back';
    const keys = [
      this.key.job(record.id),
      this.key.events(record.id),
      this.key.secrets(record.id),
      this.key.active(),
      record.lockKey && finished ? this.key.lock(record.lockKey) : '',
    ];
    const args: (string | number)[] = [expected, JSON.stringify(record), finished ? 1 : 0, this.retentionMs, Date.now(), this.key.channel(), record.id];
    for (const e of events) args.push(e.type, JSON.stringify(e.data));
    const ok = (await this.redis.eval(SAVE, keys.length, ...keys, ...args)) as number;
    if (ok !== 1) record.version = expected;
    return ok === 1;
  }

  /** Events after `afterId` (exclusive; "0" for all), oldest first. */
  async events(id: string, afterId = '0', count = 1000): Promise<StoredEvent[]> {
    const start = afterId === '0' ? '-' : `(${afterId}`;
    const rows = await this.redis.xrange(this.key.events(id), start, '+', 'COUNT', count);
    return rows.map(([eventId, fields]) => {
      const f: Record<string, string> = {};
      for (let i = 0; i + 1 < fields.length; i += 2) f[fields[i]!] = fields[i + 1]!;
      return { id: eventId, type: f.type as JobEventType, data: JSON.parse(f.data ?? '{}') as Record<string, unknown> };
    });
  }

  async saveSecret(id: string, name: string, sealed: string): Promise<void> {
    await this.redis.multi().hset(this.key.secrets(id), name, sealed).pexpire(this.key.secrets(id), this.retentionMs + 3600_000).exec();
  }

  async secrets(id: string): Promise<Record<string, string>> {
    return this.redis.hgetall(this.key.secrets(id));
  }

  /** Unfinished jobs whose record has not changed for `idleMs`. */
  async idleActive(idleMs: number, limit = 100): Promise<string[]> {
    return this.redis.zrangebyscore(this.key.active(), 0, Date.now() - idleMs, 'LIMIT', 0, limit);
  }

  /** Who holds the lock on a resource, if anyone. */
  async lockHolder(resource: string): Promise<string | null> {
    return this.redis.get(this.key.lock(resource));
  }
}
