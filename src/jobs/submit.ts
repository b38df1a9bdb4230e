/** Creates a job record and dispatches its first step: what every write route does. */
import { randomUUID } from 'node:crypto';
import { TransientError } from '../core/errors';
import type { JobRecord } from '../core/model/job';
import type { IdempotencyKey, JobQueue, JobStore } from '../core/ports';
import type { JobType } from './step';

export type SubmitResult = { kind: 'created' | 'conflict'; id: string } | { kind: 'idempotent'; id: string; fingerprint: string };

export function newRecord<P>(type: JobType<P>, payload: P, requester: string, id = randomUUID()): JobRecord {
  return {
    id,
    version: 0,
    type: type.name,
    state: 'queued',
    requester,
    createdAt: new Date().toISOString(),
    payload,
    steps: type.steps.map((s) => ({
      name: s.name,
      role: s.role,
      title: s.title(payload),
      bestEffort: Boolean(s.bestEffort),
      hasUndo: Boolean(s.undo),
      state: 'pending',
      attempts: 0,
    })),
    phase: 'do',
    cursor: 0,
    warnings: [],
    undoErrors: [],
    undone: [],
    lockKey: type.lockKey?.(payload),
  };
}

export async function submitJob<P>(
  deps: { store: JobStore; queue: JobQueue },
  type: JobType<P>,
  payload: P,
  requester: string,
  idempotency?: IdempotencyKey,
): Promise<SubmitResult> {
  const record = newRecord(type, payload, requester);
  record.steps[0]!.queuedAt = record.createdAt;
  const outcome = await deps.store.submit(record, idempotency);
  if (outcome.kind === 'conflict') return { kind: 'conflict', id: outcome.existingId };
  if (outcome.kind === 'idempotent') return { kind: 'idempotent', id: outcome.existingId, fingerprint: outcome.fingerprint };
  try {
    await deps.queue.dispatch(record);
  } catch (err) {
    // Nothing may be left half-submitted: the caller answers 503 and may retry.
    await deps.store.abandon(record, idempotency).catch(() => undefined);
    throw new TransientError('REDIS_UNAVAILABLE', 'could not enqueue the job; try again', undefined, { cause: err });
  }
  // Not abandoned if this fails: the step may already be running. The 503 says
  // "retry with the same Idempotency-Key", which finds this job.
  await deps.store.awaitReplicas();
  return { kind: 'created', id: record.id };
}
