/**
 * The queue dashboard (docs/operations.md#the-queue-dashboard): bull-board over
 * the role queues (`ceod-admin`, `ceod-fs`, `ceod-mail`, `ceod-db`), as a
 * Fastify plugin. Built here, beside the queues, because only the engine
 * speaks BullMQ; the composition root hands the plugin to the API, which
 * serves it at `/admin/queues` to syscom only (src/api/app.ts).
 *
 * Read-only: the job record is the state machine (docs/ARCHITECTURE.md#jobs-and-the-engine),
 * and a step job retried, removed, promoted or cleaned by hand behind the
 * engine's back would run a step twice, or leave the reconciler to guess.
 * The dashboard shows; the engine acts.
 */
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { FastifyPluginCallback } from 'fastify';
import { ROLES } from '../core/model/roles';
import type { BullmqQueue } from './bullmq-queue';

/** The dashboard's plugin, for mounting at `basePath` (its pages' links and its XHRs use it). */
export function queueBoardPlugin(queue: BullmqQueue, basePath: string): FastifyPluginCallback {
  const server = new FastifyAdapter();
  server.setBasePath(basePath);
  createBullBoard({
    queues: ROLES.map((role) => new BullMQAdapter(queue.queue(role), { readOnlyMode: true })),
    serverAdapter: server,
    options: { uiConfig: { boardTitle: 'ceod queues' } },
  });
  return server.registerPlugin();
}
