/**
 * The HTTP API (docs/api.md): `buildApp(deps)` builds it, `listen()` is the
 * caller's business, so tests can `inject()` without a socket. One plugin per
 * resource (`./routes/*`), the services shared with `decorate`, every `/api`
 * route behind the auth hook and the access preHandler (`./http/auth.ts`).
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import fastifySse from '@fastify/sse';
import { enforceAccess, makeAuthHook, RoleCache } from './http/auth';
import { registerBodyParsers } from './http/body';
import { makeCrossSiteHook } from './http/cross-site';
import { clientErrorHandler, frameworkErrorHandler, registerErrorHandlers } from './http/errors';
import { deriveSessionKey } from './http/session';
import { groupRoutes } from './routes/groups';
import { healthRoutes } from './routes/health';
import { jobRoutes } from './routes/jobs';
import { mailmanRoutes } from './routes/mailman';
import { memberRoutes } from './routes/members';
import { positionRoutes } from './routes/positions';
import type { ApiDeps, ApiServices } from './services';

export type { ApiDeps } from './services';

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
  const services: ApiServices = { ...deps, now: deps.now ?? (() => new Date()) };
  app.decorate('ceod', services);
  app.decorateRequest('caller', null as never);
  // Every route, as registered: the authorization matrix test checks it has a row for each.
  const routes: { method: string; url: string }[] = [];
  app.decorate('ceodRoutes', routes);
  app.addHook('onRoute', (r) => {
    for (const method of ([] as string[]).concat(r.method)) if (method !== 'HEAD') routes.push({ method, url: r.url });
  });
  await app.register(fastifySse, { heartbeatInterval: c.sse_heartbeat_ms });
  registerBodyParsers(app);
  registerErrorHandlers(app);
  await healthRoutes(app);

  const roles = new RoleCache(deps.ldap, c.role_cache_ttl_ms);
  const sessions = c.session_ttl_seconds > 0 ? { key: deriveSessionKey(deps.config.secrets.secretsKey), ttlS: c.session_ttl_seconds, secure: c.session_cookie_secure, now: deps.clock } : undefined;
  const auth = makeAuthHook({ authenticate: deps.authenticate, roles, realm: deps.config.kerberos.realm, log: deps.log, sessions });
  await app.register(
    async (api) => {
      api.addHook('onRequest', makeCrossSiteHook({ allowedOrigins: c.allowed_origins, log: deps.log }));
      api.addHook('onRequest', auth);
      api.addHook('preHandler', enforceAccess);
      for (const plugin of [memberRoutes, groupRoutes, positionRoutes, mailmanRoutes, jobRoutes]) await api.register(plugin);
    },
    { prefix: '/api' },
  );
  return app;
}
