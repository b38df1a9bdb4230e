/** Job listing, job status and its live event stream (docs/api.md#list-jobs, docs/api.md#job-status, docs/api.md#events). */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { PermanentError } from '../../core/errors';
import { nameSchema } from '../../core/model/fields';
import type { JobRecord, JobState } from '../../core/model/job';
import { openSecret } from '../../core/secret-box';
import { jobTypes } from '../../jobs/registry';
import { type Caller, refuseUnless } from '../http/auth';
import { component } from '../http/components';
import { defineRoute } from '../http/route';
import { EventFanout } from '../http/event-fanout';
import { StreamLimits } from '../http/stream-limits';
import type { ApiServices } from '../services';

const idParams = z.object({ id: z.string().uuid('must be a job id (a UUID)') }).strict();
const EVENT_ID = /^\d{1,15}-\d{1,10}$/;

const STATES: [JobState, ...JobState[]] = ['queued', 'running', 'completed', 'failed', 'rolled_back'];
const listQuery = z
  .object({
    requester: nameSchema.optional(),
    type: z
      .string({ error: 'must be a string' })
      .refine((t) => jobTypes.has(t), { error: `must be one of ${[...jobTypes.keys()].join(', ')}` })
      .optional(),
    state: z.enum(STATES, { error: `must be one of ${STATES.join(', ')}` }).optional(),
    since: z.iso.datetime({ offset: true, error: 'must be an ISO time, e.g. 2026-09-01T00:00:00Z' }).optional(),
    limit: z.coerce.number({ error: 'must be a number' }).int('must be an integer').min(1, 'must be at least 1').max(100, 'must be at most 100').default(20),
    cursor: z.string({ error: 'must be a string' }).max(100, 'must be the `next` of an earlier page').optional(),
  })
  .strict();

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/**
 * What a job works on, in a few words, for listings: the names the payload
 * holds (uid, group, list), never other fields (forwarding addresses are the
 * member's and syscom's business only).
 */
export function jobSubject(type: string, payload: unknown): string {
  const p = (payload ?? {}) as Record<string, unknown>;
  const uid = str(p.uid);
  const cn = str(p.cn);
  const list = str(p.list);
  if (uid && list) return `${uid} on ${list}`;
  // A member's `cn` is their full name; a group job's is the group.
  if (uid && cn && type.endsWith('_group_member')) return `${uid} in ${cn}`;
  if (uid) return uid;
  if (cn) return cn;
  if (type === 'expire_members' && Array.isArray(p.uids)) return `${p.uids.length} member${p.uids.length === 1 ? '' : 's'}`;
  if (type === 'set_positions') return 'positions';
  return '';
}

/** One line of a listing. */
export const jobSummary = (r: JobRecord) => ({
  id: r.id,
  type: r.type,
  state: r.state,
  requester: r.requester,
  created_at: r.createdAt,
  finished_at: r.finishedAt,
  subject: jobSubject(r.type, r.payload),
});

const errorInfo = z.object({ code: z.string(), message: z.string() });

/** What a listing line and the job view both start with. */
const jobHead = z.object({
  id: z.string(),
  type: z.string().meta({ description: 'the job type, e.g. create_member (docs/jobs.md)' }),
  state: z.enum(STATES),
  requester: z.string(),
  created_at: z.string(),
  finished_at: z.string().optional(),
});

/** `GET /api/jobs` (docs/api.md#list-jobs): `jobSummary`'s shape, a page of them. */
const jobListSchema = component(
  'JobList',
  z.object({
    jobs: z
      .array(
        jobHead.extend({
          subject: z.string().meta({ description: 'what the job works on, in a few words: a uid, a group, `uid on list`, `N members`; empty when nothing names it' }),
        }),
      )
      .meta({ description: 'newest first' }),
    next: z.string().optional().meta({ description: 'the cursor of the next page (send it back as ?cursor=); absent on the last page' }),
  }),
);

/** `GET /api/jobs/:id` (docs/api.md#job-status): `jobView`'s shape. */
const jobSchema = component(
  'Job',
  jobHead.extend({
    started_at: z.string().optional(),
    payload: z.unknown().meta({ description: "the validated request (the job type's payload); forwarding addresses only for their member and syscom" }),
    steps: z.array(
      z.object({
        name: z.string(),
        title: z.string(),
        role: z.string(),
        host: z.string().optional(),
        state: z.enum(['pending', 'running', 'retrying', 'completed', 'failed', 'undoing', 'undone', 'undo_failed']),
        best_effort: z.boolean(),
        attempts: z.number().int(),
        queued_at: z.string().optional(),
        started_at: z.string().optional(),
        finished_at: z.string().optional(),
        queue_wait_ms: z.number().optional(),
        duration_ms: z.number().optional(),
        error: errorInfo.optional(),
        warning: z.string().optional(),
        undo: z
          .object({
            state: z.enum(['running', 'undone', 'failed']),
            host: z.string().optional(),
            startedAt: z.string().optional(),
            finishedAt: z.string().optional(),
            error: errorInfo.optional(),
          })
          .optional(),
      }),
    ),
    warnings: z.array(z.string()),
    error: errorInfo.extend({ step: z.string().optional() }).optional(),
    undone: z.array(z.string()),
    undo_errors: z.array(errorInfo.extend({ step: z.string() })),
    result: z.record(z.string(), z.unknown()).meta({
      description:
        "every step's result, merged (by job type, docs/jobs.md: e.g. renew_members' outcomes and counts, create_database's host and port); generated secrets (password) only for the requester, once completed",
    }),
  }),
);

/** What `GET /api/jobs/:id/events` sends: a stream, not JSON (docs/api.md#events). */
const eventStream = z.string().meta({
  description:
    'Server-Sent Events: queued, step_started, step_retrying, step_completed, step_failed, warning, step_undone, step_undo_failed, then completed, failed or rolled_back; each with an id (send it back as Last-Event-ID to resume) and JSON data',
});

const ms = (from?: string, to?: string) => (from && to ? Date.parse(to) - Date.parse(from) : undefined);

/**
 * A job's payload as `caller` may see it: by the member read's rules
 * (docs/authorization.md#what-callers-see), forwarding addresses only to the
 * member they belong to and to syscom, whoever asked for the job.
 */
export function visiblePayload(payload: unknown, caller: Caller): unknown {
  if (!payload || typeof payload !== 'object' || !('forwarding_addresses' in payload)) return payload;
  const p = payload as { uid?: unknown; forwarding_addresses?: unknown };
  if (caller.isSyscom || p.uid === caller.uid) return payload;
  const { forwarding_addresses: _hidden, ...rest } = p;
  return { ...rest, forwarding_addresses: '(hidden: shown to the member and syscom only)' };
}

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
    payload: visiblePayload(record.payload, caller),
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

/** The job, if the caller may see it: their own, or any for staff (403, logged, otherwise). */
async function load(s: ApiServices, id: string, caller: Caller): Promise<JobRecord> {
  const record = await s.store.get(id);
  if (!record) throw new PermanentError('NOT_FOUND', `no job ${id} (finished jobs are kept ${s.config.ceod.job_retention_hours} h)`, 'id');
  if (record.requester !== caller.uid && !caller.isStaff) {
    s.metrics.authFailed('access_denied');
    s.log.warn({ caller: caller.uid, jobId: id }, 'denied: job of another user');
    throw new PermanentError('FORBIDDEN', `${caller.uid} may only see their own jobs`);
  }
  return record;
}

export async function jobRoutes(api: FastifyInstance): Promise<void> {
  // Any member may list their own jobs; staff everyone's (see the handler).
  defineRoute(api, {
    method: 'GET',
    url: '/jobs',
    access: 'member',
    what: 'list jobs',
    summary: 'List jobs',
    description: 'Newest first, a page at a time. A member sees their own jobs (asking for anyone else\'s is a 403); staff see everyone\'s, or one requester\'s.',
    query: listQuery,
    response: { 200: jobListSchema },
    handler: async ({ query: q, caller, req, services: s }) => {
      refuseUnless(req, caller.isStaff || q.requester === undefined || q.requester === caller.uid, `list the jobs of ${q.requester}`);
      const page = await s.store.list({
        requester: caller.isStaff ? q.requester : caller.uid,
        type: q.type,
        state: q.state,
        sinceMs: q.since === undefined ? undefined : Date.parse(q.since),
        cursor: q.cursor,
        limit: q.limit,
      });
      return { jobs: page.records.map(jobSummary), ...(page.next ? { next: page.next } : {}) };
    },
  });

  // Any member may ask; whose job it is decides (see `load`).
  defineRoute(api, {
    method: 'GET',
    url: '/jobs/:id',
    access: 'member',
    what: 'read jobs',
    summary: 'Read a job',
    description: 'Its own job to any member, any job to staff.',
    params: idParams,
    response: { 200: jobSchema },
    handler: async ({ params: { id }, caller, services: s }) => {
      const record = await load(s, id, caller);
      const secrets = record.requester === caller.uid ? await s.store.secrets(id) : {};
      return jobView(record, caller, secrets, s.config.secrets.secretsKey);
    },
  });

  const c = api.ceod.config.ceod;
  const limits = new StreamLimits({ perPrincipal: c.sse_max_per_principal, total: c.sse_max_streams, idleMs: c.sse_idle_timeout_ms });
  api.decorate('ceodStreams', limits);
  // One reader per job in this process, fanned out to every watcher (docs/api.md#events).
  const fanout = new EventFanout({ store: api.ceod.store, feed: api.ceod.events, pollMs: c.sse_poll_ms });
  api.decorate('ceodFanout', fanout);
  api.addHook('onClose', async () => fanout.close());
  api.ceod.metrics.watchEventStreams(() => limits.count);

  defineRoute(api, {
    method: 'GET',
    url: '/jobs/:id/events',
    access: 'member',
    what: 'watch jobs',
    summary: "Watch a job's events (Server-Sent Events)",
    description: 'Its own job to any member, any job to staff. Replays from the start, or after `Last-Event-ID` (or `?last_event_id=`). At most `[ceod] sse_max_per_principal` streams per caller (429).',
    params: idParams,
    response: { 200: eventStream },
    options: { sse: 'only' },
    handler: async ({ params: { id }, caller, req, reply, services: s }) => {
      const { version } = await load(s, id, caller);
      const release = limits.acquire(caller.uid);
      const last = reply.sse.lastEventId ?? (req.query as { last_event_id?: string }).last_event_id ?? '0';
      const from = EVENT_ID.test(last) ? last : '0';
      reply.sse.onClose(release);
      // The SSE plugin says keep-alive; a client that asked to close after this answer gets its way.
      if (/\bclose\b/i.test(String(req.headers.connection ?? ''))) reply.header('Connection', 'close');
      const sub = fanout.watch(id, from, version);
      reply.sse.onClose(() => sub.close());
      // A stream whose connection closed before it was set up ends at once.
      if (!reply.sse.isConnected) sub.close();
      // Each event's SSE message is made once for all its watchers (http/event-fanout.ts) and
      // written as is; the events of one transition go out in one write.
      reply.sse.sendHeaders();
      try {
        for (;;) {
          const batch = await sub.next(limits.idleMs);
          // Over: the final event was sent, the job is gone, the stream was idle, or the client left.
          if (batch === null || !reply.sse.isConnected) return;
          if (batch.length === 0) continue;
          const raw = reply.raw;
          raw.cork();
          for (const e of batch) raw.write(e.frame);
          raw.uncork();
        }
      } finally {
        sub.close();
        release();
      }
    },
  });
}
