/**
 * What a route may answer (docs/api.md#response-schemas): every route declares
 * a zod schema per success status, and the same schema that documents the
 * answer (./openapi.ts) filters it on the way out. A field the schema does
 * not declare is dropped, so a route cannot leak one by accident (a new
 * attribute on a model, a spread object); an answer that does not match its
 * schema at all (a wrong type, a status the route does not declare) is a bug,
 * logged and answered 500 rather than sent. Errors are held to the one error
 * shape the same way.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { component } from './components';

/** Success responses by HTTP status. */
export type Responses = Readonly<Record<number, z.ZodType>>;

/** The API's one error shape (./errors.ts). */
export const errorBodySchema = component(
  'Error',
  z.object({
    error: z.object({
      code: z.string().meta({ description: 'a stable code (docs/api.md#error-codes-and-http-statuses), e.g. CONFLICT' }),
      message: z.string(),
      field: z.string().optional().meta({ description: 'the offending field, e.g. terms.0, uid, Idempotency-Key, body (on a 400: the first of fields)' }),
      fields: z
        .array(z.object({ field: z.string(), message: z.string() }))
        .optional()
        .meta({ description: 'on a 400: every invalid field, each with what is wrong with it' }),
      job_id: z.string().optional().meta({ description: 'on a 409: the job that holds the resource' }),
    }),
  }),
);

/** The 202 of every write. */
export const acceptedSchema = component(
  'Accepted',
  z.object({
    id: z.string().meta({ description: 'the job id (a UUID)' }),
    status_url: z.string().meta({ description: '/api/jobs/<id>' }),
    events_url: z.string().meta({ description: '/api/jobs/<id>/events (Server-Sent Events)' }),
  }),
);

/** Thrown when a reply does not match its declared schema: a bug in the route, never the caller's. */
class ResponseSchemaError extends Error {
  override readonly name = 'ResponseSchemaError';
}

/**
 * The route's `preSerialization` hook: the reply, parsed with the schema of
 * its status (unknown fields stripped at every level). Streams, strings and
 * buffers never reach it (Fastify does not serialize them).
 */
export function responseFilter(responses: Responses) {
  return async function filterResponse(req: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown> {
    const status = reply.statusCode;
    const schema = responses[status] ?? (status >= 400 ? errorBodySchema : undefined);
    if (!schema) {
      req.log.error({ route: req.routeOptions.url, status }, 'a route answered a status it does not declare');
      throw new ResponseSchemaError(`status ${status} is not declared`);
    }
    const r = schema.safeParse(payload);
    if (r.success) return r.data;
    // Paths and codes only: the values may be what must not be sent.
    const issues = r.error.issues.slice(0, 5).map((i) => ({ path: i.path.join('.'), code: i.code }));
    req.log.error({ route: req.routeOptions.url, status, issues }, 'a reply does not match its declared schema');
    if (status >= 500) return { error: { code: 'UNKNOWN', message: 'internal error; see the ceod log' } };
    throw new ResponseSchemaError('the reply does not match its declared schema');
  };
}
