/**
 * The HTTP API (docs/api.md): `buildApp(deps)` builds it, `listen()` is the
 * caller's business, so tests can `inject()` without a socket. One plugin per
 * resource (`./routes/*`), the services shared with `decorate`, every `/api`
 * route behind the auth hook and the access preHandler (`./http/auth.ts`).
 * Besides: `/health`, `/metrics` (by client address), the OpenAPI document
 * and its reference page (public), and the queue dashboard (syscom).
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import fastifySse from '@fastify/sse';
import { noMetrics } from '../core/ports';
import { enforceAccess, makeAuthHook, refuseUnless, RoleCache } from './http/auth';
import { registerBodyParsers } from './http/body';
import { makeCrossSiteHook } from './http/cross-site';
import { clientErrorHandler, frameworkErrorHandler, registerErrorHandlers } from './http/errors';
import { dropForwardedCredentials } from './http/forwarded-credentials';
import type { RegisteredRoute } from './http/openapi';
import { deriveSessionKey } from './http/session';
import { databaseRoutes } from './routes/databases';
import { docsRoutes } from './routes/docs';
import { groupRoutes } from './routes/groups';
import { healthRoutes } from './routes/health';
import { jobRoutes } from './routes/jobs';
import { mailmanRoutes } from './routes/mailman';
import { memberRoutes } from './routes/members';
import { metricsRoutes } from './routes/metrics';
import { positionRoutes } from './routes/positions';
import type { ApiDeps, ApiServices } from './services';

export type { ApiDeps } from './services';

/** Where the queue dashboard is served (docs/operations.md#the-queue-dashboard); its session cookie's Path. */
export const QUEUE_BOARD_PATH = '/admin/queues';

export async function buildApp(deps: ApiDeps): Promise<FastifyInstance> {
  const c = deps.config.ceod;
  const checkEvery = Math.max(250, Math.min(5000, Math.floor(Math.min(c.request_timeout_ms, c.headers_timeout_ms) / 4)));
  const nodeTimeouts = { requestTimeout: c.request_timeout_ms, headersTimeout: Math.min(c.headers_timeout_ms, c.request_timeout_ms), connectionsCheckingInterval: checkEvery };
  const app = Fastify({
    loggerInstance: deps.log as FastifyBaseLogger,
    bodyLimit: c.body_limit_bytes,
    return503OnClosing: true,
    requestIdHeader: false,
    // A slow or stalled client must not hold a connection (docs/config.md#ceod).
    requestTimeout: c.request_timeout_ms,
    connectionTimeout: c.connection_timeout_ms,
    keepAliveTimeout: c.keep_alive_timeout_ms,
    maxRequestsPerSocket: c.max_requests_per_socket,
    // Given to Node's server at creation: set afterwards (as Fastify sets requestTimeout)
    // they do not take effect. Node checks them every `checkEvery` ms (its default, 30 s,
    // would let a stalled body sit that long).
    ...(deps.https ? { https: { ...deps.https, ...nodeTimeouts } } : { http: nodeTimeouts }),
    frameworkErrors: frameworkErrorHandler,
    clientErrorHandler,
  } as FastifyServerOptions);
  app.server.maxConnections = c.max_connections;
  const metrics = deps.metrics ?? noMetrics;
  const services: ApiServices = { ...deps, metrics, now: deps.now ?? (() => new Date()) };
  app.decorate('ceod', services);
  app.decorateRequest('caller', null as never);
  // Every route, as registered: the authorization matrix test checks it has a row for
  // each, the OpenAPI document is made from their docs, and its test checks none is missing.
  const routes: RegisteredRoute[] = [];
  app.decorate('ceodRoutes', routes);
  app.addHook('onRoute', (r) => {
    const hidden = Boolean((r.schema as { hide?: boolean } | undefined)?.hide);
    for (const method of ([] as string[]).concat(r.method)) if (method !== 'HEAD') routes.push({ method, url: r.url, hidden, doc: r.config?.doc });
  });
  // By the route as declared, never the path as sent (it may hold a uid).
  app.addHook('onResponse', async (req, reply) => {
    metrics.httpRequest({ method: req.method, route: req.routeOptions.url ?? 'unmatched', status: reply.statusCode, seconds: reply.elapsedTime / 1000 });
  });
  // First of all: a forwarded TGT is never seen past this point.
  app.addHook('onRequest', dropForwardedCredentials);
  await app.register(fastifySse, { heartbeatInterval: c.sse_heartbeat_ms });
  registerBodyParsers(app);
  registerErrorHandlers(app);
  await healthRoutes(app);
  await metricsRoutes(app);

  const roles = new RoleCache(deps.ldap, c.role_cache_ttl_ms);
  const sessions =
    c.session_ttl_seconds > 0
      ? { key: deriveSessionKey(deps.config.secrets.secretsKey), ttlS: c.session_ttl_seconds, secure: c.session_cookie_secure, now: deps.clock, registry: deps.sessions }
      : undefined;
  const auth = makeAuthHook({ authenticate: deps.authenticate, roles, realm: deps.config.kerberos.realm, log: deps.log, sessions, metrics });
  const crossSite = makeCrossSiteHook({ allowedOrigins: c.allowed_origins, log: deps.log, metrics });
  await app.register(
    async (api) => {
      api.addHook('onRequest', crossSite);
      api.addHook('onRequest', auth);
      api.addHook('preHandler', enforceAccess);
      for (const plugin of [memberRoutes, groupRoutes, positionRoutes, mailmanRoutes, databaseRoutes, jobRoutes]) await api.register(plugin);
    },
    { prefix: '/api' },
  );

  if (deps.queueBoard) {
    // The same authentication as /api (a handshake here sets a cookie for this path),
    // then syscom only. The dashboard's plugin has an error handler of its own, so these
    // hooks answer a refusal themselves, through the app's, in the project's shape.
    const boardAuth = makeAuthHook({ authenticate: deps.authenticate, roles, realm: deps.config.kerberos.realm, log: deps.log, sessions: sessions && { ...sessions, path: QUEUE_BOARD_PATH }, metrics });
    const answerErrors = app.errorHandler;
    const guard = (hook: (req: FastifyRequest, reply: FastifyReply) => Promise<void>) => async (req: FastifyRequest, reply: FastifyReply) => {
      try {
        await hook(req, reply);
      } catch (err) {
        answerErrors.call(app, err as Error, req, reply);
        return reply;
      }
    };
    const plugin = deps.queueBoard(QUEUE_BOARD_PATH);
    await app.register(
      async (admin) => {
        admin.addHook('onRequest', guard(crossSite));
        admin.addHook('onRequest', guard(boardAuth));
        admin.addHook('onRequest', guard(async (req) => refuseUnless(req, req.caller.isSyscom, 'see the queue dashboard (syscom only)')));
        await admin.register(plugin);
      },
      { prefix: QUEUE_BOARD_PATH },
    );
  }
  await docsRoutes(app, { version: deps.version ?? 'dev' });
  return app;
}
