/**
 * `GET /metrics` on the API (docs/operations.md#metrics): Prometheus's text
 * format, without authentication (a scraper has no Kerberos ticket), to the
 * client addresses of `[ceod] metrics_allow` only (loopback by default; 403
 * to others). No route when the list is empty. Nothing in it comes from an
 * authenticated caller (src/core/ports/metrics.ts).
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { AllowList } from '../../core/allow-list';
import { PermanentError } from '../../core/errors';
import { documented } from '../http/route';

export async function metricsRoutes(app: FastifyInstance): Promise<void> {
  const allow = new AllowList(app.ceod.config.ceod.metrics_allow);
  if (allow.empty) return;
  const doc = documented({
    access: 'allow_list',
    summary: 'Prometheus metrics',
    description: 'Jobs submitted and finished, HTTP requests, authentication failures, queue depth, open event streams, Node process metrics (docs/operations.md).',
    responses: { 200: z.string().meta({ description: 'Prometheus text exposition format 0.0.4' }) },
    contentType: 'text/plain',
  });
  app.get('/metrics', doc, async (req, reply) => {
    const ip = req.socket.remoteAddress;
    if (!allow.allows(ip)) {
      req.log.warn({ ip }, 'denied: /metrics from an address outside [ceod] metrics_allow');
      throw new PermanentError('FORBIDDEN', 'this address may not read metrics ([ceod] metrics_allow)');
    }
    const { contentType, body } = await app.ceod.metrics.scrape();
    return reply.type(contentType).send(body);
  });
}
