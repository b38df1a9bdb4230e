/**
 * The job store port: job records, their event streams, sealed secrets,
 * resource locks and idempotency keys (adapter: `src/store`, Redis). The
 * record is the truth about a job (docs/ARCHITECTURE.md#jobs-and-the-engine).
 */
import type { JobEvent, JobRecord, JobState, StoredEvent } from '../model/job';

export type SubmitOutcome =
  | { kind: 'created' }
  | { kind: 'conflict'; existingId: string }
  | { kind: 'idempotent'; existingId: string; fingerprint: string };

/** An `Idempotency-Key` and the fingerprint of the request it was first used for. */
export interface IdempotencyKey {
  key: string;
  fingerprint: string;
}

/** Which jobs `JobStore.list` returns, newest first. */
export interface JobListQuery {
  /** Only this requester's jobs; everyone's when absent. */
  requester?: string;
  type?: string;
  state?: JobState;
  /** Only jobs created at or after this time (ms since the epoch). */
  sinceMs?: number;
  /** The `next` of the previous page: this page starts right after it. */
  cursor?: string;
  /** At most this many records. */
  limit: number;
}

export interface JobListPage {
  records: JobRecord[];
  /**
   * Where the next page starts, when more jobs may match. A page may hold
   * fewer than `limit` records and still have a `next`: each call reads a
   * bounded number of index entries, however few of them match the filters.
   */
  next?: string;
}

export interface JobStore {
  /** Creates the record atomically with its lock and idempotency key, or says who was first. */
  submit(record: JobRecord, idempotency?: IdempotencyKey): Promise<SubmitOutcome>;
  /** Undoes a submit whose dispatch failed: nothing is left behind. */
  abandon(record: JobRecord, idempotency?: IdempotencyKey): Promise<void>;
  /** The job an Idempotency-Key already maps to (and the request it was used for), if any. */
  idempotent(requester: string, key: string): Promise<{ jobId: string; fingerprint: string } | null>;
  get(id: string): Promise<JobRecord | null>;
  /**
   * Writes the record if nobody else wrote it since it was read (compare-and-set
   * on `version`), appends its events and wakes their watchers, in one step.
   * False if the record moved on or is gone: the caller is a stale duplicate.
   */
  save(record: JobRecord, events?: JobEvent[]): Promise<boolean>;
  /** Events after `afterId` (exclusive; "0" for all), oldest first. */
  events(id: string, afterId?: string, count?: number): Promise<StoredEvent[]>;
  saveSecret(id: string, name: string, sealed: string): Promise<void>;
  secrets(id: string): Promise<Record<string, string>>;
  /** Jobs newest first, filtered; ids whose record has expired are dropped from the index on the way. */
  list(query: JobListQuery): Promise<JobListPage>;
  /** Unfinished jobs whose record has not changed for `idleMs`. */
  idleActive(idleMs: number, limit?: number): Promise<string[]>;
  /**
   * Whether the job's record can still be updated (`gone` if there is none).
   * A record that cannot (corrupt, or holding what Redis's Lua cannot decode)
   * would otherwise be retried forever.
   */
  readable(id: string): Promise<'yes' | 'no' | 'gone'>;
  /**
   * Ends a job whose record cannot be read: keeps the record for a human,
   * replaces it by a failed one (UNREADABLE_RECORD), appends the `failed`
   * event, releases the job's lock. Returns what it found of the record.
   */
  failUnreadable(id: string): Promise<{ kept: string; lockKey?: string } | null>;
  /**
   * Resolves once this store's writes so far are held by the configured number
   * of replicas (Redis `WAIT`; at once when none is configured). Short of them
   * within the deadline: a transient `REDIS_NOT_REPLICATED`. The API calls it
   * before answering 202, so an accepted job survives the master's loss.
   */
  awaitReplicas(): Promise<void>;
  /** Cheap round trip, for health checks. */
  ping(): Promise<void>;
}
