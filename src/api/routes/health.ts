/**
 * `GET /health` (docs/api.md#health-check): unauthenticated readiness, 200 or
 * 503 naming what does not answer, and nothing more: why it does not answer
 * (an adapter's error text, which may name hosts, users or paths) goes to the
 * log only.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { classify } from '../../core/errors';
import { component } from '../http/components';
import { documented } from '../http/route';

const healthSchema = component(
  'Health',
  z.object({
    status: z.enum(['ok', 'degraded']),
    host: z.string(),
    checks: z.record(z.string(), z.enum(['ok', 'unreachable'])).meta({ description: 'redis, ldap, …: what does not answer; why is in the log only' }),
  }),
);

export async function healthRoutes(api: FastifyInstance): Promise<void> {
  const doc = documented({ access: 'public', summary: 'Readiness: Redis and LDAP answer', responses: { 200: healthSchema, 503: healthSchema } });
  api.get('/health', doc, async (_req, reply) => {
    const s = api.ceod;
    const checks: Record<string, string> = {};
    const all: Record<string, () => Promise<void>> = {
      redis: () => s.store.ping(),
      ldap: () => s.ldap.ping(),
      ...s.checks,
    };
    await Promise.all(
      Object.entries(all).map(async ([name, check]) => {
        try {
          await check();
          checks[name] = 'ok';
        } catch (e) {
          checks[name] = 'unreachable';
          api.log.warn({ check: name, error: classify(e) }, 'health check failed');
        }
      }),
    );
    const ok = Object.values(checks).every((v) => v === 'ok');
    return reply.status(ok ? 200 : 503).send({ status: ok ? 'ok' : 'degraded', host: s.config.ceod.host, checks });
  });
}
