/**
 * Declaring routes: every `/api` route says who may call it and which path
 * parameters it takes (checked by the auth preHandler, see ./auth.ts), and
 * gets the parsed parameters, query and body; every write route is declared
 * through `writeRoute`, which does what all writes do (docs/api.md#reads-and-writes):
 * validate, run cheap prechecks, submit the job, answer 202.
 *
 * What a route declares is also its documentation: its params, query, body
 * and response schemas become its entry in the OpenAPI document
 * (./openapi.ts), and the response schemas filter what it sends
 * (./response.ts). A route cannot be declared without a response schema.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest, HTTPMethods } from 'fastify';
import type { z } from 'zod';
import { PermanentError } from '../../core/errors';
import { submitJob } from '../../jobs/submit';
import type { JobType } from '../../jobs/step';
import type { ApiServices } from '../services';
import type { Access, Caller } from './auth';
import { assertSameRequest, idempotencyKey, requestFingerprint } from './idempotency';
import type { RouteDoc } from './openapi';
import { acceptedSchema, type Responses, responseFilter } from './response';
import { emptyBody, parseOr400 } from './validation';

type Params = Record<string, string>;

export interface RouteContext<Pa extends Params, Q, B> {
  req: FastifyRequest;
  reply: FastifyReply;
  caller: Caller;
  params: Pa;
  query: Q;
  body: B;
  services: ApiServices;
}

export interface RouteDef<Pa extends Params, Q, B> {
  method: HTTPMethods;
  url: string;
  access: Access;
  /** What a refused caller may not do, e.g. `renew members`, for the 403 and the log. */
  what: string | ((params: Pa) => string);
  params?: z.ZodType<Pa>;
  query?: z.ZodType<Q>;
  body?: z.ZodType<B>;
  /**
   * What it answers on success, by status (`{ 200: memberSchema }`): the
   * document shows these, and the reply is parsed with the one of its status,
   * which drops any field it does not declare. Errors have the error shape.
   */
  response: Responses;
  /** A one-line summary for the document; by default `what`, e.g. "Renew members". */
  summary?: string;
  /** More for the document (Markdown). */
  description?: string;
  /**
   * The body as documented, when `body` is only a first check: a job's payload
   * schema validates the body merged with the path's parameters, which `omit`
   * names (the document leaves them out of the body).
   */
  documentedBody?: { schema: z.ZodType; omit?: readonly string[] };
  /** Extra Fastify route options (e.g. `sse: 'only'`). */
  options?: Record<string, unknown>;
  handler: (c: RouteContext<Pa, Q, B>) => Promise<unknown>;
}

/** `what` as a summary: `renew members` → `Renew members`, `modify ${uid}` → `Modify {uid}`. */
function summaryOf(what: string | ((params: any) => string), params?: z.ZodType): string {
  let text: string;
  if (typeof what === 'string') text = what;
  else {
    const shape = (params as { shape?: Record<string, unknown> } | undefined)?.shape ?? {};
    text = what(Object.fromEntries(Object.keys(shape).map((k) => [k, `{${k}}`])));
  }
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/**
 * Fastify route options that document a route and filter its answers by
 * `doc.responses`; for the routes not declared through `defineRoute`
 * (/health, /metrics, /api/openapi.json).
 */
export function documented(doc: RouteDoc) {
  return { config: { doc }, preSerialization: responseFilter(doc.responses) };
}

/** Registers a route: params and access checked by the preHandler, then query and body, then the handler. */
export function defineRoute<Pa extends Params = Params, Q = undefined, B = undefined>(api: FastifyInstance, def: RouteDef<Pa, Q, B>, extra: Partial<RouteDoc> = {}): void {
  const doc: RouteDoc = {
    access: def.access,
    summary: def.summary ?? summaryOf(def.what, def.params),
    description: def.description,
    params: def.params,
    query: def.query,
    body: def.documentedBody?.schema ?? (def.body === (emptyBody as z.ZodType) ? undefined : def.body),
    bodyOmit: def.documentedBody?.omit,
    responses: def.response,
    contentType: def.options?.sse ? 'text/event-stream' : 'application/json',
    ...extra,
  };
  api.route({
    method: def.method,
    url: def.url,
    ...def.options,
    preSerialization: responseFilter(def.response),
    config: { access: { access: def.access, what: def.what as string | ((p: Params) => string), params: def.params as z.ZodType<Params> | undefined }, doc },
    handler: async (req, reply) =>
      def.handler({
        req,
        reply,
        caller: req.caller,
        params: req.params as Pa,
        query: def.query ? parseOr400(def.query, req.query, 'query') : (undefined as Q),
        body: def.body ? parseOr400(def.body, req.body, 'body') : (undefined as B),
        services: api.ceod,
      }),
  });
}

/** The 202 every write route answers. */
export function accepted(reply: FastifyReply, id: string, replayed = false) {
  const status_url = `/api/jobs/${id}`;
  if (replayed) reply.header('Idempotent-Replayed', 'true');
  return reply.status(202).header('Location', status_url).send({ id, status_url, events_url: `${status_url}/events` });
}

export interface WriteRouteDef<Pa extends Params, Q, B, P> extends Omit<RouteDef<Pa, Q, B>, 'handler' | 'response'> {
  job: JobType<P>;
  /** The job's payload from the checked request. */
  payload: (c: RouteContext<Pa, Q, B>) => P | Promise<P>;
  /** What the job works on, for the 409 message, e.g. `alice1`. */
  subject: (payload: P) => string;
  /** The request field a 409 names, if any. */
  field?: string;
  /**
   * Cheap checks that need the world (e.g. "the name is free"), run after an
   * idempotent replay is ruled out. The job checks again: the world may change.
   */
  precheck?: (payload: P, c: RouteContext<Pa, Q, B>) => Promise<void>;
}

export interface EnqueueOptions<P> {
  /** What the job works on, for the 409 message, e.g. `alice1`. */
  subject: (payload: P) => string;
  /** The request field a 409 names, if any. */
  field?: string;
  /** Cheap checks that need the world (e.g. "the name is free"), run after an idempotent replay is ruled out. */
  precheck?: () => Promise<void>;
}

/**
 * What every write does once the request is valid and allowed: replays an
 * `Idempotency-Key` seen before, runs the prechecks, submits the job, and
 * turns a held lock into a 409 that names the job holding it.
 */
export async function enqueue<P>(c: { req: FastifyRequest; reply: FastifyReply; caller: Caller; services: ApiServices }, job: JobType<P>, payload: P, opts: EnqueueOptions<P>) {
  const { store, queue } = c.services;
  const key = idempotencyKey(c.req);
  const idem = key ? { key, fingerprint: requestFingerprint(c.req) } : undefined;
  if (idem) {
    const prior = await store.idempotent(c.caller.uid, idem.key);
    if (prior) {
      assertSameRequest(prior, idem.fingerprint, idem.key);
      return accepted(c.reply, prior.jobId, true);
    }
  }
  await opts.precheck?.();
  const result = await submitJob({ store, queue }, job, payload, c.caller.uid, idem);
  if (result.kind === 'conflict') {
    throw new PermanentError('CONFLICT', `a job for ${opts.subject(payload)} is already queued or running: ${result.id}`, opts.field, { jobId: result.id });
  }
  if (result.kind === 'idempotent') assertSameRequest(result, idem!.fingerprint, idem!.key);
  else c.services.metrics.jobSubmitted(job.name);
  return accepted(c.reply, result.id, result.kind === 'idempotent');
}

/**
 * Registers a write route: params and access (preHandler), query and body (a
 * route that takes no body gets `emptyBody`: none, `null` or `{}`), the
 * payload, then `enqueue`.
 */
export function writeRoute<Pa extends Params = Params, Q = undefined, B = undefined, P = unknown>(api: FastifyInstance, def: WriteRouteDef<Pa, Q, B, P>): void {
  defineRoute<Pa, Q, B>(
    api,
    {
      ...def,
      body: def.body ?? (emptyBody as unknown as z.ZodType<B>),
      response: { 202: acceptedSchema },
      handler: async (c) => {
        const payload = await def.payload(c);
        return enqueue(c, def.job, payload, { subject: def.subject, field: def.field, precheck: def.precheck && (() => def.precheck!(payload, c)) });
      },
    },
    { jobType: def.job.name },
  );
}
