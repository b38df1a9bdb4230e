/**
 * The API's one error shape, `{"error":{"code","message","field"?,"fields"?,"job_id"?}}`
 * (docs/api.md#errors), for classified errors, Fastify's own (bad JSON, body
 * too large, wrong content type), an unreachable Redis and anything else.
 */
import type { Socket } from 'node:net';
import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { classify, httpStatus, isCeoError } from '../../core/errors';

export interface ErrorBody {
  error: { code: string; message: string; field?: string; fields?: { field: string; message: string }[]; job_id?: string };
}

/** The code of the project's error shape for a status Fastify or Node chose. */
function codeFor(status: number): string {
  if (status === 413) return 'PAYLOAD_TOO_LARGE';
  if (status === 415) return 'UNSUPPORTED_MEDIA_TYPE';
  if (status === 408) return 'REQUEST_TIMEOUT';
  if (status === 414) return 'URI_TOO_LONG';
  if (status === 431) return 'HEADERS_TOO_LARGE';
  return 'BAD_REQUEST';
}

/** Fastify's router errors (a malformed URL, a path parameter too long), in the project's shape. */
export function frameworkErrorHandler(err: FastifyError, _req: FastifyRequest, reply: FastifyReply): void {
  const status = err.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 414 : 400;
  const message = status === 414 ? 'a path parameter is too long' : 'the URL is not valid';
  void reply.status(status).send({ error: { code: codeFor(status), message } } satisfies ErrorBody);
}

/**
 * Errors Node's HTTP parser raises before Fastify sees a request (headers too
 * large, a request that timed out, a malformed request line), in the
 * project's shape; the connection is then closed.
 */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const status = err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'HPE_URI_TOO_LONG' ? 414 : 400;
  const message = status === 408 ? 'the request did not arrive in time' : status === 431 ? 'the request headers are too large' : status === 414 ? 'the URL is too long' : 'the request could not be read';
  const body = JSON.stringify({ error: { code: codeFor(status), message } } satisfies ErrorBody);
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroy();
}

export function registerErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError | Error, req, reply) => {
    let status: number;
    let body: ErrorBody;
    if (isCeoError(err)) {
      status = httpStatus(err.code);
      body = { error: { code: err.code, message: err.message, ...(err.field ? { field: err.field } : {}) } };
      // A bad request names every invalid field; a 409 names the job that holds the resource.
      if (err.fields) body.error.fields = err.fields.map((f) => ({ field: f.field, message: f.message }));
      if (err.jobId) body.error.job_id = err.jobId;
      if (!err.permanent && status < 500) status = 503;
      // A transient refusal (a server down, too many streams): the client may come back shortly.
      if (!err.permanent && status === 503) void reply.header('Retry-After', '1');
    } else if ((err as FastifyError).statusCode && (err as FastifyError).statusCode! < 500) {
      // Fastify's own: malformed JSON, body too large, wrong content type.
      const fe = err as FastifyError;
      status = fe.statusCode!;
      body = { error: { code: codeFor(status), message: fe.message.replace(/^FST_\w+:\s*/, ''), ...(status === 400 ? { field: 'body' } : {}) } };
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
    // Refused before its body was read (authentication, the cross-site rule): the
    // connection is closed, not kept waiting for a body nobody will read.
    const declaresBody = (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0') || req.headers['transfer-encoding'] !== undefined;
    if (declaresBody && req.body === undefined && status < 500) void reply.header('Connection', 'close');
    void reply.status(status).send(body);
  });
  app.setNotFoundHandler((req, reply) => {
    void reply.status(404).send({ error: { code: 'NOT_FOUND', message: `no route ${req.method} ${req.url.split('?')[0]}` } });
  });
}
