/**
 * The `JobQueue` port on BullMQ: puts a job's current step on the queue of the
 * role that owns it (`ceod-<role>`). Used by the API (first step) and by the
 * engine (every following step and every undo).
 *
 * Each step's BullMQ job has a fixed id (`<job>-do<i>`, `<job>-undo<i>`), so
 * dispatching the same position twice (a crash between recording a step and
 * dispatching the next, then a redelivery) adds nothing the second time.
 */
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { JobRecord } from '../core/model/job';
import { ROLES, type Role } from '../core/model/roles';
import type { JobQueue, QueueSample } from '../core/ports';

export const queueName = (role: Role): string => `ceod-${role}`;

/** What a step job carries: only where to look. Payload and results stay in the record. */
export interface StepJobData {
  jobId: string;
  phase: 'do' | 'undo';
  index: number;
}

export interface BullmqQueueOptions {
  prefix: string;
  /** Attempts of each step job (the first run included). */
  attempts: number;
  /** How long finished step jobs are kept (as the job records are). */
  retentionMs: number;
}

export const stepJobId = (d: StepJobData): string => `${d.jobId}-${d.phase}${d.index}`;

export class BullmqQueue implements JobQueue {
  private readonly queues = new Map<Role, Queue>();

  constructor(
    connection: Redis,
    private readonly opts: BullmqQueueOptions,
  ) {
    for (const role of ROLES) {
      this.queues.set(role, new Queue(queueName(role), { connection, prefix: opts.prefix }));
    }
  }

  queue(role: Role): Queue {
    return this.queues.get(role)!;
  }

  async dispatch(record: JobRecord): Promise<void> {
    const step = record.steps[record.cursor];
    if (!step) throw new Error(`job ${record.id} has no step ${record.cursor}`);
    const data: StepJobData = { jobId: record.id, phase: record.phase, index: record.cursor };
    const age = Math.ceil(this.opts.retentionMs / 1000);
    await this.queue(step.role).add(`${record.type}.${step.name}${record.phase === 'undo' ? '.undo' : ''}`, data, {
      jobId: stepJobId(data),
      attempts: this.opts.attempts,
      backoff: { type: 'ceod' },
      removeOnComplete: { age, count: 10000 },
      removeOnFail: { age },
    });
  }

  /**
   * Each role queue's depth by state and the age of its oldest waiting step job,
   * for the metrics (`Metrics.watchQueues`); two Redis round trips per queue.
   */
  async sample(now = Date.now()): Promise<QueueSample[]> {
    return Promise.all(
      ROLES.map(async (role) => {
        const q = this.queue(role);
        const [counts, oldest] = await Promise.all([
          q.getJobCounts('wait', 'prioritized', 'active', 'delayed', 'failed'),
          // The wait list is pushed on the left and taken from the right: ascending from 0 is the oldest.
          q.getJobs(['wait'], 0, 0, true),
        ]);
        const first = oldest[0];
        return {
          queue: queueName(role),
          waiting: (counts.wait ?? 0) + (counts.prioritized ?? 0),
          active: counts.active ?? 0,
          delayed: counts.delayed ?? 0,
          failed: counts.failed ?? 0,
          oldestWaitingSeconds: first ? Math.max(0, (now - first.timestamp) / 1000) : 0,
        };
      }),
    );
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close()));
  }
}
