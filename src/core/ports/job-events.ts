/**
 * Waking event streams when their job gets new events (adapter:
 * `src/store/event-hub.ts`). A wake-up is a hint, not the truth: a waiter
 * also wakes on a timeout and re-reads the job's events from the store.
 */
export interface JobEventFeed {
  /**
   * Registers interest *before* the caller reads the stream, so an event that
   * lands between the read and the wait still wakes it. Resolves on the next
   * notification for `jobId`, or after `timeoutMs`; `cancel` releases it early.
   */
  waiter(jobId: string, timeoutMs: number): { promise: Promise<void>; cancel: () => void };
  /** Number of streams waiting, for metrics and tests. */
  readonly watching: number;
}
