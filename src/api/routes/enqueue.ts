/** What every write route does last: Idempotency-Key replay, submission, and the 409 naming the job that holds the resource. */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { PermanentError } from '../../errors';
import { submitJob } from '../../jobs/submit';
import type { JobType } from '../../jobs/types';
import { type ApiDeps, idempotencyKey } from '../app';
import { accepted } from './jobs';

/**
 * Submits a job of `type` for the caller and answers 202. `what` names the
 * resource in a 409 ("a job for positions is already queued or running"),
 * `field` the request field it came from, if any.
 */
export async function enqueueJob<P>(
  deps: ApiDeps,
  req: FastifyRequest,
  reply: FastifyReply,
  type: JobType<P>,
  payload: P,
  conflict: { what: string; field?: string },
) {
  const caller = req.caller!;
  const key = idempotencyKey(req);
  if (key) {
    const prior = await deps.store.idempotent(caller.uid, key);
    if (prior) return accepted(reply, prior, true);
  }
  const result = await submitJob(deps, type, payload, caller.uid, key);
  if (result.kind === 'conflict') {
    throw Object.assign(new PermanentError('CONFLICT', `a job for ${conflict.what} is already queued or running: ${result.id}`, conflict.field), { jobId: result.id });
  }
  return accepted(reply, result.id, result.kind === 'idempotent');
}
