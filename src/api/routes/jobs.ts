/** Job status and its live event stream (SPEC §5). */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { SSEMessage } from '@fastify/sse';
import { z } from 'zod';
import { PermanentError } from '../../errors';
import { FINAL_EVENTS } from '../../jobs/store';
import type { JobRecord } from '../../jobs/types';
import { openSecret } from '../../secret-box';
import { type ApiDeps, parseOr400 } from '../app';
import type { Caller } from '../auth';

const idParams = z.object({ id: z.string().uuid('must be a job id (a UUID)') }).strict();
const EVENT_ID = /^\d{1,15}-\d{1,10}$/;

/** The 202 every write route answers. */
export function accepted(reply: FastifyReply, id: string, replayed = false) {
  const status_url = `/api/jobs/${id}`;
  if (replayed) reply.header('Idempotent-Replayed', 'true');
  return reply.status(202).header('Location', status_url).send({ id, status_url, events_url: `${status_url}/events` });
}

const ms = (from?: string, to?: string) => (from && to ? Date.parse(to) - Date.parse(from) : undefined);

/** The record as clients see it: no internals, secrets only for the requester of a completed job. */
export function jobView(record: JobRecord, caller: Caller, secrets: Record<string, string>, key: Buffer) {
  const result: Record<string, unknown> = {};
  for (const s of record.steps) if (s.result) Object.assign(result, s.result);
  if (caller.uid === record.requester && record.state === 'completed') {
    for (const [name, sealed] of Object.entries(secrets)) {
      const value = openSecret(key, `${record.id}/${name}`, sealed);
      if (value !== null) result[name] = value;
    }
  }
  return {
    id: record.id,
    type: record.type,
    state: record.state,
    requester: record.requester,
    created_at: record.createdAt,
    started_at: record.startedAt,
    finished_at: record.finishedAt,
    payload: record.payload,
    steps: record.steps.map((s) => ({
      name: s.name,
      title: s.title,
      role: s.role,
      host: s.host,
      state: s.state,
      best_effort: s.bestEffort,
      attempts: s.attempts,
      queued_at: s.queuedAt,
      started_at: s.startedAt,
      finished_at: s.finishedAt,
      queue_wait_ms: ms(s.queuedAt, s.startedAt),
      duration_ms: ms(s.startedAt, s.finishedAt),
      error: s.error,
      warning: s.warning,
      undo: s.undo,
    })),
    warnings: record.warnings,
    error: record.error,
    undone: record.undone,
    undo_errors: record.undoErrors,
    result,
  };
}

export async function jobRoutes(api: FastifyInstance, deps: ApiDeps): Promise<void> {
  const load = async (id: string, caller: Caller): Promise<JobRecord> => {
    const record = await deps.store.get(id);
    if (!record) throw new PermanentError('NOT_FOUND', `no job ${id} (finished jobs are kept ${deps.config.ceod.job_retention_hours} h)`, 'id');
    if (record.requester !== caller.uid && !caller.isStaff) {
      req403(caller, id);
    }
    return record;
  };
  const req403 = (caller: Caller, id: string): never => {
    deps.log.warn({ caller: caller.uid, jobId: id }, 'denied: job of another user');
    throw new PermanentError('FORBIDDEN', `${caller.uid} may only see their own jobs`);
  };

  api.get('/jobs/:id', async (req) => {
    const { id } = parseOr400(idParams, req.params, 'params');
    const record = await load(id, req.caller!);
    const secrets = record.requester === req.caller!.uid ? await deps.store.secrets(id) : {};
    return jobView(record, req.caller!, secrets, deps.config.secrets.secretsKey);
  });

  api.get('/jobs/:id/events', { sse: 'only' }, async (req, reply) => {
    const { id } = parseOr400(idParams, req.params, 'params');
    await load(id, req.caller!);
    const last = reply.sse.lastEventId ?? (req.query as { last_event_id?: string }).last_event_id ?? '0';
    const from = EVENT_ID.test(last) ? last : '0';
    let closed = false;
    reply.sse.onClose(() => {
      closed = true;
    });
    const { store, hub } = deps;
    async function* stream(): AsyncGenerator<SSEMessage> {
      let after = from;
      while (!closed) {
        const wait = hub.waiter(id, 2000); // registered before reading: nothing slips between
        const events = await store.events(id, after);
        for (const e of events) {
          after = e.id;
          yield { id: e.id, event: e.type, data: e.data };
          if (FINAL_EVENTS.has(e.type)) {
            wait.cancel();
            return;
          }
        }
        if (events.length === 0 && !(await store.get(id))) {
          wait.cancel();
          return; // expired while we watched
        }
        await wait.promise;
      }
    }
    await reply.sse.send(stream());
  });
}
