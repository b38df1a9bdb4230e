/**
 * The HTTP API (SPEC §5): `buildApp(deps)` builds it, `listen()` is the
 * caller's business, so tests can `inject()` without a socket.
 */
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyRequest } from 'fastify';
import fastifySse from '@fastify/sse';
import { z } from 'zod';
import type { Config } from '../config/schema';
import { CeoError, classify, httpStatus, PermanentError } from '../errors';
import type { Logger } from '../log';
import type { JobStore } from '../jobs/store';
import type { Dispatcher } from '../workers/dispatcher';
import type { HomeDirs, Ldap, Mailman } from '../workers/adapters';
import { type Authenticator, makeAuthHook, RoleCache } from './auth';
import { deriveSessionKey } from './session';
import type { EventHub } from './event-hub';
import { groupRoutes } from './routes/groups';
import { jobRoutes } from './routes/jobs';
import { mailmanRoutes } from './routes/mailman';
import { memberRoutes } from './routes/members';
import { positionRoutes } from './routes/positions';

export interface ApiDeps {
  config: Config;
  store: JobStore;
  dispatcher: Dispatcher;
  ldap: Ldap;
  /** For `.forward` reads where the home directories are mounted; optional. */
  homeDirs?: HomeDirs;
  /** For checking that a list exists before a subscription is enqueued; optional (the mail step checks too). */
  mailman?: Mailman;
  hub: EventHub;
  log: Logger;
  authenticate: Authenticator;
  /** Today, for term checks; injectable so no test depends on the real date. */
  now?: () => Date;
  /** Milliseconds since the epoch for session cookie times; injectable for tests. */
  clock?: () => number;
  /** Extra readiness checks for /health, by name. */
  checks?: Record<string, () => Promise<void>>;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Method and URL of every route (HEAD excluded), in registration order. */
    ceodRoutes: readonly { method: string; url: string }[];
  }
}

export interface ErrorBody {
  error: { code: string; message: string; field?: string; job_id?: string };
}

/** The body of a write that takes no arguments: none, `null` or `{}`. */
export const emptyBody = z.object({}, { error: 'must be a JSON object' }).strict().nullish();

/** Parses with a zod schema, or throws a 400 naming the first bad field. */
export function parseOr400<T>(schema: z.ZodType<T>, value: unknown, where: 'body' | 'params' | 'query'): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  let field = issue.path.map(String).join('.');
  let message = issue.message;
  if (issue.code === 'unrecognized_keys') {
    field = issue.keys.join(', ');
    message = `unknown field(s): ${issue.keys.join(', ')}`;
  } else if (issue.code === 'invalid_type' && issue.input === undefined) {
    message = 'is required';
  }
  throw new PermanentError('BAD_REQUEST', field ? `${field}: ${message}` : `${where}: ${message}`, field || where);
}

export async function buildApp(deps: ApiDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.log as FastifyBaseLogger,
    bodyLimit: 64 * 1024,
    disableRequestLogging: false,
    return503OnClosing: true,
    requestIdHeader: false,
  });
  // Every route, as registered: the authorization matrix test checks it has a row for each.
  const routes: { method: string; url: string }[] = [];
  app.decorate('ceodRoutes', routes);
  app.addHook('onRoute', (r) => {
    for (const method of ([] as string[]).concat(r.method)) if (method !== 'HEAD') routes.push({ method, url: r.url });
  });
  await app.register(fastifySse, { heartbeatInterval: 15_000 });
  // JSON only: anything else is a 415, not a string for the schema to puzzle over.
  app.removeContentTypeParser('text/plain');

  app.setErrorHandler((err: FastifyError | CeoError | Error, req, reply) => {
    let status: number;
    let body: ErrorBody;
    if (err.name === 'PermanentError' || err.name === 'TransientError') {
      const e = err as CeoError;
      status = httpStatus(e.code);
      body = { error: { code: e.code, message: e.message, ...(e.field ? { field: e.field } : {}) } };
      // A 409 names the job that holds the resource.
      if (typeof (e as { jobId?: unknown }).jobId === 'string') body.error.job_id = (e as { jobId?: string }).jobId;
      if (!e.permanent && status < 500) status = 503;
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

  app.get('/health', async (_req, reply) => {
    const checks: Record<string, string> = {};
    const all: Record<string, () => Promise<void>> = {
      redis: async () => void (await deps.store.redis.ping()),
      ldap: () => deps.ldap.ping(),
      ...deps.checks,
    };
    await Promise.all(
      Object.entries(all).map(async ([name, check]) => {
        try {
          await check();
          checks[name] = 'ok';
        } catch (e) {
          checks[name] = `unreachable: ${(e as Error).message}`;
        }
      }),
    );
    const ok = Object.values(checks).every((v) => v === 'ok');
    return reply.status(ok ? 200 : 503).send({ status: ok ? 'ok' : 'degraded', host: deps.config.ceod.host, checks });
  });

  const roles = new RoleCache(deps.ldap);
  const { session_ttl_seconds: ttlS, session_cookie_secure: secure } = deps.config.ceod;
  const sessions = ttlS > 0 ? { key: deriveSessionKey(deps.config.secrets.secretsKey), ttlS, secure, now: deps.clock } : undefined;
  const auth = makeAuthHook({ authenticate: deps.authenticate, roles, realm: deps.config.kerberos.realm, log: deps.log, sessions });
  await app.register(
    async (api) => {
      api.addHook('onRequest', auth);
      await memberRoutes(api, deps);
      await groupRoutes(api, deps);
      await positionRoutes(api, deps);
      await mailmanRoutes(api, deps);
      await jobRoutes(api, deps);
    },
    { prefix: '/api' },
  );
  return app;
}

/** The `Idempotency-Key` header, checked. */
export function idempotencyKey(req: FastifyRequest): string | undefined {
  const v = req.headers['idempotency-key'];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !/^[A-Za-z0-9_.:-]{1,128}$/.test(v)) {
    throw new PermanentError('BAD_REQUEST', 'Idempotency-Key: 1-128 characters of A-Z a-z 0-9 _ . : -', 'Idempotency-Key');
  }
  return v;
}
