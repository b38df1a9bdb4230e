/** What every write route does once the request is valid and allowed: submit a job and answer 202. */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { PermanentError } from '../errors';
import { submitJob } from '../jobs/submit';
import type { JobType } from '../jobs/types';
import { type ApiDeps, idempotencyKey } from './app';
import { accepted } from './routes/jobs';

export interface EnqueueOptions {
  /** What the job works on, for the 409 message, e.g. `alice1`. */
  subject: string;
  /** The request field the 409 names, if any. */
  field?: string;
  /** Cheap checks that need the world (e.g. "name free"), run after an idempotent replay is ruled out. */
  precheck?: () => Promise<void>;
}

/**
 * Replays an `Idempotency-Key` seen before, runs the prechecks, submits, and
 * turns a held lock into a 409 that names the job holding it.
 */
export async function enqueue<P>(deps: ApiDeps, req: FastifyRequest, reply: FastifyReply, type: JobType<P>, payload: P, opts: EnqueueOptions) {
  const caller = req.caller!;
  const key = idempotencyKey(req);
  if (key) {
    const prior = await deps.store.idempotent(caller.uid, key);
    if (prior) return accepted(reply, prior, true);
  }
  await opts.precheck?.();
  const result = await submitJob(deps, type, payload, caller.uid, key);
  if (result.kind === 'conflict') {
    throw Object.assign(new PermanentError('CONFLICT', `a job for ${opts.subject} is already queued or running: ${result.id}`, opts.field), {
      jobId: result.id,
    });
  }
  return accepted(reply, result.id, result.kind === 'idempotent');
}

/** 409 unless `name` is free: users and groups share one namespace (SPEC §2). */
export async function assertNameFree(deps: Pick<ApiDeps, 'ldap'>, name: string, field: string): Promise<void> {
  if (await deps.ldap.nameTaken(name)) throw new PermanentError('CONFLICT', `${name} is already taken by a user or group`, field);
}
