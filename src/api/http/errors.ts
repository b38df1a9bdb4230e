/**
 * The API's one error shape, `{"error":{"code","message","field"?,"job_id"?}}`
 * (docs/api.md#errors), for classified errors, Fastify's own (bad JSON, body
 * too large, wrong content type), an unreachable Redis and anything else.
 */
import type { FastifyError, FastifyInstance } from 'fastify';
import { classify, httpStatus, isCeoError } from '../../core/errors';

export interface ErrorBody {
  error: { code: string; message: string; field?: string; job_id?: string };
}

export function registerErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError | Error, req, reply) => {
    let status: number;
    let body: ErrorBody;
    if (isCeoError(err)) {
      status = httpStatus(err.code);
      body = { error: { code: err.code, message: err.message, ...(err.field ? { field: err.field } : {}) } };
      // A 409 names the job that holds the resource.
      if (err.jobId) body.error.job_id = err.jobId;
      if (!err.permanent && status < 500) status = 503;
    } else if ((err as FastifyError).statusCode && (err as FastifyError).statusCode! < 500) {
      // Fastify's own: malformed JSON, body too large, wrong content type.
      const fe = err as FastifyError;
      status = fe.statusCode!;
      const code = status === 413 ? 'PAYLOAD_TOO_LARGE' : status === 415 ? 'UNSUPPORTED_MEDIA_TYPE' : 'BAD_REQUEST';
      body = { error: { code, message: fe.message.replace(/^FST_\w+:\s*/, ''), ...(status === 400 ? { field: 'body' } : {}) } };
    } else if (classify(err).code === 'REDIS_UNAVAILABLE') {
      // Redis down or restarting (ioredis's fail-fast errors): the client may retry.
      status = 503;
      body = { error: { code: 'REDIS_UNAVAILABLE', message: 'the job store is unavailable; try again' } };
      void reply.header('Retry-After', '1');
    } else {
      status = 500;
      req.log.error({ err }, 'unhandled error');
      body = { error: { code: 'UNKNOWN', message: 'internal error; see the ceod log' } };
    }
    if (status >= 500) req.log.error({ code: body.error.code, message: body.error.message }, 'request failed');
    void reply.status(status).send(body);
  });
  app.setNotFoundHandler((req, reply) => {
    void reply.status(404).send({ error: { code: 'NOT_FOUND', message: `no route ${req.method} ${req.url.split('?')[0]}` } });
  });
}
