/**
 * The job queue port: puts a job's current step (or undo) on the queue of the
 * role that owns it (adapter: `src/workers/bullmq-queue.ts`). The API uses it
 * for a job's first step, the engine for every later one.
 */
import type { JobRecord } from '../model/job';

export interface JobQueue {
  /** Enqueues the step at the record's position (phase + cursor); dispatching one position twice adds nothing. */
  dispatch(record: JobRecord): Promise<void>;
  close(): Promise<void>;
}
