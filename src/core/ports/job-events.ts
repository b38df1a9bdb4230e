/**
 * Waking event streams when their job gets new events (adapter:
 * `src/store/event-hub.ts`). A wake-up is a hint, not the truth: a waiter
 * also wakes on a timeout and re-reads the job's events from the store.
 */
import type { StoredEvent } from '../model/job';

/** What a notification carries: the record's version the write made, and the events it added (maybe none). */
export interface JobNews {
  version: number;
  events: StoredEvent[];
}

export interface JobEventFeed {
  /**
   * Registers interest *before* the caller reads the stream, so an event that
   * lands between the read and the wait still wakes it. Resolves on the next
   * notification for `jobId`, or after `timeoutMs`; `cancel` releases it early.
   */
  waiter(jobId: string, timeoutMs: number): { promise: Promise<void>; cancel: () => void };
  /**
   * Calls `onNews` with every notification for `jobId`, in order: the events
   * it carries, or `null` for a bare wake-up (re-read the stream). Returns the
   * function that stops it. Optional: a feed without it only wakes waiters.
   */
  listen?(jobId: string, onNews: (news: JobNews | null) => void): () => void;
  /** Number of streams waiting, for metrics and tests. */
  readonly watching: number;
}
