/**
 * The engine's safety net for what BullMQ's redelivery cannot fix: an
 * unfinished job whose current step job is missing (lost between recording
 * one step and dispatching the next) or was given up by BullMQ (stalled more
 * than `max_stalled_count` times). Every worker runs it on a timer; one at a
 * time does the work, holding the shared `reconcile` mutex.
 *
 * Each job is handled on its own: a failure with one is logged with the job's
 * id and the loop goes on to the next (docs/ARCHITECTURE.md#crash-recovery).
 */
import { classify, type ErrorInfo, hasCode } from '../core/errors';
import type { Logger } from '../core/log';
import { isFinished, type JobRecord } from '../core/model/job';
import type { Coordination, JobStore, Metrics } from '../core/ports';
import type { JobType } from '../jobs/step';
import { type BullmqQueue, type StepJobData, stepJobId } from './bullmq-queue';
import * as t from './transitions';

export interface ReconcilerDeps {
  store: JobStore;
  queue: BullmqQueue;
  coordination: Coordination;
  types: ReadonlyMap<string, JobType<any>>;
  log: Logger;
  host: string;
  /** A job is looked at once its record has not changed for this long. */
  idleMs: number;
  intervalMs: number;
  /** Saves a transition and does what it says next (the runner's `apply`). */
  apply(tr: t.Transition): Promise<string>;
  /** Counts each fix (`ceod_reconciler_fixes_total`). */
  metrics?: Pick<Metrics, 'reconcilerFixed'>;
}

const now = () => new Date().toISOString();

export class Reconciler {
  private timer?: NodeJS.Timeout;

  constructor(private readonly deps: ReconcilerDeps) {}

  start(): void {
    this.timer = setInterval(() => {
      this.runOnce().catch((err: unknown) => this.deps.log.error({ error: classify(err) }, 'reconciler round failed'));
    }, this.deps.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** One round: returns how many jobs it fixed (0 when another worker is at it). */
  async runOnce(idleMs = this.deps.idleMs): Promise<number> {
    try {
      return await this.round(idleMs);
    } catch (err) {
      // Another worker holds the mutex: it is doing the work this round.
      if (hasCode(err, 'LOCK_BUSY')) return 0;
      throw err;
    }
  }

  private round(idleMs: number): Promise<number> {
    return this.deps.coordination.withLock(
      'reconcile',
      async () => {
        let fixed = 0;
        for (const id of await this.deps.store.idleActive(idleMs)) {
          try {
            if (await this.reconcileJob(id)) fixed += 1;
          } catch (err) {
            this.deps.log.error({ jobId: id, error: classify(err) }, 'reconciler could not handle job; going on with the next');
          }
        }
        return fixed;
      },
      { waitMs: 0 },
    );
  }

  /** Re-dispatches or fails one idle job's current step if its queue job is missing or given up. */
  private async reconcileJob(id: string): Promise<boolean> {
    const { store, queue } = this.deps;
    // A record nothing can update (it would be retried, and hold its lock, forever) is failed at once.
    if ((await store.readable(id)) === 'no') {
      const done = await store.failUnreadable(id);
      if (done !== null) this.deps.metrics?.reconcilerFixed('failed_unreadable');
      this.deps.log.error({ jobId: id, ...done, code: 'UNREADABLE_RECORD' }, 'job record cannot be read: the job is marked failed and its lock released; the record is kept for a human');
      return done !== null;
    }
    const record = await store.get(id);
    if (!record || isFinished(record)) return false;
    const type = this.deps.types.get(record.type);
    const sr = record.steps[record.cursor];
    if (!type || !sr) return false;
    const data: StepJobData = { jobId: id, phase: record.phase, index: record.cursor };
    const bull = await queue.queue(sr.role).getJob(stepJobId(data));
    const state = bull ? await bull.getState() : 'missing';
    if (state === 'missing') {
      if (await this.carried(record)) return false;
      await queue.dispatch(record);
      this.deps.metrics?.reconcilerFixed('redispatched');
      return true;
    }
    if (state !== 'failed') return false;
    const info: ErrorInfo = { code: 'JOB_STALLED', message: bull?.failedReason || 'step given up by the queue', permanent: false };
    const tr = record.phase === 'do' ? t.stepFailed(record, info, sr.attempts, now()) : t.undoFailed(record, { code: info.code, message: info.message }, now());
    await this.deps.apply(tr);
    this.deps.metrics?.reconcilerFixed('failed_stalled');
    return true;
  }

  /**
   * Whether the record's current step has no queue job of its own because it
   * runs in the queue job of an earlier step (back to back on one host), and
   * that one is still active or due to be retried (then it re-dispatches the
   * step itself).
   */
  private async carried(record: JobRecord): Promise<boolean> {
    if (record.phase !== 'do') return false;
    for (let j = record.cursor - 1; j >= 0; j--) {
      const bull = await this.deps.queue.queue(record.steps[j]!.role).getJob(stepJobId({ jobId: record.id, phase: 'do', index: j }));
      if (!bull) continue;
      // The nearest earlier step with a queue job of its own is the one that carried the rest.
      const state = await bull.getState();
      return state !== 'completed' && state !== 'failed' && state !== 'unknown';
    }
    return false;
  }
}
