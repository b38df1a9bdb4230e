/**
 * The job records and their event streams in Redis: the truth about every job
 * (the `JobStore` port; docs/ARCHITECTURE.md#state-in-redis).
 *
 * - `<p>:job:<id>`      JSON `JobRecord`, written by the API at submit and by
 *                       the worker running the job's current step (one at a time).
 * - `<p>:events:<id>`   a Redis Stream of step transitions; its entry ids are
 *                       the SSE event ids, so a late or reconnecting client
 *                       replays from any point.
 * - `<p>:secrets:<id>`  hash of sealed secrets (see core/secret-box.ts).
 * - `<p>:lock:<key>`    the id of the job working on a resource (409s).
 * - `<p>:idem:<who>:<key>` the job an Idempotency-Key maps to.
 * - `<p>:active`        sorted set of unfinished job ids by last change, for
 *                       the reconciler.
 * - `<p>:jobs`, `<p>:jobs-by:<uid>` every job by creation time, and each
 *                       requester's (./job-index.ts), for listings.
 * - channel `<p>:events` carries the id of each job that got new events.
 */
import type { Redis } from 'ioredis';
import { TransientError } from '../core/errors';
import { isFinished, type JobEvent, type JobEventType, type JobRecord, type StoredEvent } from '../core/model/job';
import type { IdempotencyKey, JobListPage, JobListQuery, JobStore, SubmitOutcome } from '../core/ports';
import { idOfMember, indexMember, parseCursor, timeBound } from './job-index';
import { keys, type Keys } from './keys';
import { type ScriptedRedis, withScripts } from './scripts';

export interface JobStoreOptions {
  prefix: string;
  /** How long finished records, events and secrets are kept. */
  retentionMs: number;
  /** A lock outlives a lost job by at most this long. */
  lockTtlMs: number;
  /** How long an Idempotency-Key maps to its job. */
  idempotencyTtlMs: number;
  /** Replicas `awaitReplicas` waits for (0: none), and for how long. */
  waitReplicas?: number;
  waitTimeoutMs?: number;
}

/** `<fingerprint> <job id>`, as the submit script stores an Idempotency-Key (a bare id: a key stored before fingerprints). */
function parseIdem(v: string): { jobId: string; fingerprint: string } {
  const sp = v.indexOf(' ');
  return sp < 0 ? { jobId: v, fingerprint: '' } : { jobId: v.slice(sp + 1), fingerprint: v.slice(0, sp) };
}

/** Index entries one `list` call reads at most. */
const LIST_SCAN_MAX = 1000;

export class RedisJobStore implements JobStore {
  readonly key: Keys;
  readonly redis: ScriptedRedis;

  constructor(
    redis: Redis,
    private readonly opts: JobStoreOptions,
  ) {
    this.redis = withScripts(redis);
    this.key = keys(opts.prefix);
  }

  async submit(record: JobRecord, idem?: IdempotencyKey): Promise<SubmitOutcome> {
    const eventData = JSON.stringify({ at: record.createdAt, type: record.type, requester: record.requester });
    const [kind, value] = (await this.redis.ceodSubmit(
      this.key.job(record.id),
      this.key.events(record.id),
      record.lockKey ? this.key.lock(record.lockKey) : '',
      idem ? this.key.idem(record.requester, idem.key) : '',
      this.key.active(),
      this.key.jobs(),
      this.key.jobsBy(record.requester),
      record.id,
      JSON.stringify(record),
      this.opts.lockTtlMs,
      this.opts.idempotencyTtlMs,
      Date.now(),
      eventData,
      indexMember(record),
      // A record lives at most its lock's TTL unfinished, then `retentionMs`:
      // index entries older than both have no record left.
      timeBound(Date.now() - this.opts.retentionMs - this.opts.lockTtlMs),
      idem ? `${idem.fingerprint} ${record.id}` : '',
      this.key.channel(),
    )) as [string, string];
    if (kind === 'created') return { kind };
    if (kind === 'conflict') return { kind, existingId: value };
    const prior = parseIdem(value);
    return { kind: 'idempotent', existingId: prior.jobId, fingerprint: prior.fingerprint };
  }

  async abandon(record: JobRecord, idem?: IdempotencyKey): Promise<void> {
    const m = this.redis.multi().del(this.key.job(record.id), this.key.events(record.id), this.key.secrets(record.id));
    m.zrem(this.key.active(), record.id);
    m.zrem(this.key.jobs(), indexMember(record));
    m.zrem(this.key.jobsBy(record.requester), indexMember(record));
    if (idem) m.del(this.key.idem(record.requester, idem.key));
    if (record.lockKey) (m as unknown as ScriptedRedis).ceodRelease(this.key.lock(record.lockKey), record.id);
    await m.exec();
  }

  async idempotent(requester: string, key: string): Promise<{ jobId: string; fingerprint: string } | null> {
    const v = await this.redis.get(this.key.idem(requester, key));
    return v === null ? null : parseIdem(v);
  }

  async get(id: string): Promise<JobRecord | null> {
    const raw = await this.redis.get(this.key.job(id));
    return raw ? (JSON.parse(raw) as JobRecord) : null;
  }

  async save(record: JobRecord, events: JobEvent[] = []): Promise<boolean> {
    const expected = record.version;
    record.version = expected + 1;
    const finished = isFinished(record);
    const args: (string | number)[] = [
      this.key.job(record.id),
      this.key.events(record.id),
      this.key.secrets(record.id),
      this.key.active(),
      record.lockKey && finished ? this.key.lock(record.lockKey) : '',
      expected,
      JSON.stringify(record),
      finished ? 1 : 0,
      this.opts.retentionMs,
      Date.now(),
      this.key.channel(),
      record.id,
    ];
    for (const e of events) args.push(e.type, JSON.stringify(e.data));
    const json = args[6] as string;
    const ok = (await this.redis.ceodSave(...args)) as number;
    // ok 0 may be our own write: Redis applied it, the reply was lost (a restart,
    // a dropped connection), and ioredis sent the command again, which the
    // version check then refused. If the record is exactly what we wrote, it was.
    if (ok === 0 && (await this.redis.get(this.key.job(record.id))) === json) return true;
    if (ok !== 1) record.version = expected;
    return ok === 1;
  }

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
    // One round trip; no MULTI needed: should the expiry be lost, the job's final save sets it again.
    const res = await this.redis.pipeline().hset(this.key.secrets(id), name, sealed).pexpire(this.key.secrets(id), this.opts.retentionMs + 3600_000).exec();
    const failed = res?.find(([err]) => err);
    if (failed) throw failed[0];
  }

  async secrets(id: string): Promise<Record<string, string>> {
    return this.redis.hgetall(this.key.secrets(id));
  }

  async list(q: JobListQuery): Promise<JobListPage> {
    const index = q.requester ? this.key.jobsBy(q.requester) : this.key.jobs();
    const min = q.sinceMs === undefined ? '-' : `[${timeBound(q.sinceMs)}`;
    let max = q.cursor === undefined ? '+' : `(${parseCursor(q.cursor)}`;
    const batch = Math.min(Math.max(q.limit, 50), 200);
    const records: JobRecord[] = [];
    let scanned = 0;
    // Bounded work per page, however few entries match the filters: the cursor says where to go on.
    while (scanned < LIST_SCAN_MAX) {
      const members = await this.redis.zrevrangebylex(index, max, min, 'LIMIT', 0, batch);
      if (members.length === 0) return { records };
      const raws = await this.redis.mget(members.map((m) => this.key.job(idOfMember(m))));
      const gone: string[] = [];
      for (let i = 0; i < members.length; i++) {
        scanned++;
        const raw = raws[i];
        if (!raw) {
          gone.push(members[i]!);
          continue;
        }
        let record: JobRecord;
        try {
          record = JSON.parse(raw) as JobRecord;
        } catch {
          continue; // the reconciler marks an unreadable record failed; a listing just skips it
        }
        if ((q.type && record.type !== q.type) || (q.state && record.state !== q.state)) continue;
        records.push(record);
        if (records.length === q.limit) {
          if (gone.length > 0) await this.redis.zrem(index, ...gone);
          const more = i < members.length - 1 || (await this.redis.zrevrangebylex(index, `(${members[i]}`, min, 'LIMIT', 0, 1)).length > 0;
          return more ? { records, next: members[i] } : { records };
        }
      }
      if (gone.length > 0) await this.redis.zrem(index, ...gone);
      if (members.length < batch) return { records };
      max = `(${members[members.length - 1]}`;
    }
    return { records, next: max.slice(1) };
  }

  async idleActive(idleMs: number, limit = 100): Promise<string[]> {
    return this.redis.zrangebyscore(this.key.active(), 0, Date.now() - idleMs, 'LIMIT', 0, limit);
  }

  async readable(id: string): Promise<'yes' | 'no' | 'gone'> {
    const r = (await this.redis.ceodReadable(this.key.job(id))) as number;
    return r === 1 ? 'yes' : r === 0 ? 'no' : 'gone';
  }

  async failUnreadable(id: string): Promise<{ kept: string; lockKey?: string } | null> {
    const raw = await this.redis.get(this.key.job(id));
    if (raw === null) return null;
    // What JavaScript can still read of it (a lone surrogate is fine here, not in Lua).
    let old: Partial<JobRecord> = {};
    try {
      old = JSON.parse(raw) as Partial<JobRecord>;
    } catch {
      // Not JSON at all: nothing to keep but the raw text.
    }
    const str = (v: unknown) => (typeof v === 'string' && !/[\ud800-\udfff]/.test(v) ? v : undefined);
    let lockKey = str(old.lockKey);
    if (lockKey === undefined) lockKey = await this.lockHeldBy(id);
    const kept = `${this.key.job(id)}:unreadable`;
    const at = new Date().toISOString();
    const error = { code: 'UNREADABLE_RECORD', message: `the job record could not be read in Redis; the job was stopped (its record is kept as ${kept})` };
    const replacement: JobRecord = {
      id,
      version: (typeof old.version === 'number' ? old.version : 0) + 1,
      type: str(old.type) ?? 'unknown',
      state: 'failed',
      requester: str(old.requester) ?? 'unknown',
      createdAt: str(old.createdAt) ?? at,
      finishedAt: at,
      payload: null,
      steps: [],
      phase: 'do',
      cursor: 0,
      warnings: [],
      error,
      undoErrors: [],
      undone: [],
    };
    const keys = [this.key.job(id), this.key.events(id), this.key.active(), kept, lockKey ? this.key.lock(lockKey) : ''];
    const done = (await this.redis.ceodFailUnreadable(...keys, id, JSON.stringify(replacement), this.opts.retentionMs, JSON.stringify({ at, error }), this.key.channel())) as number;
    return done === 1 ? { kept, ...(lockKey ? { lockKey } : {}) } : null;
  }

  /** The resource whose lock this job holds, found by scanning the locks (only for a record too broken to say). */
  private async lockHeldBy(id: string): Promise<string | undefined> {
    const prefix = this.key.lock('');
    let cursor = '0';
    do {
      const [next, found] = await this.redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      cursor = next;
      for (const k of found) if ((await this.redis.get(k)) === id) return k.slice(prefix.length);
    } while (cursor !== '0');
    return undefined;
  }

  async awaitReplicas(): Promise<void> {
    const want = this.opts.waitReplicas ?? 0;
    if (want <= 0) return;
    const timeoutMs = this.opts.waitTimeoutMs ?? 1000;
    // WAIT covers every write this connection sent before it (the record, and
    // BullMQ's add of the first step, which shares the connection).
    const got = await this.redis.wait(want, timeoutMs);
    if (got < want) {
      throw new TransientError('REDIS_NOT_REPLICATED', `the job was written but only ${got} of ${want} Redis replicas confirmed it within ${timeoutMs} ms; retry with the same Idempotency-Key`);
    }
  }

  async ping(): Promise<void> {
    await this.redis.ping();
  }
}
