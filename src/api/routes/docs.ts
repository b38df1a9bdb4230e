/**
 * The API's own description (docs/api.md#openapi): the OpenAPI 3.1 document at
 * `GET /api/openapi.json`, generated from the routes as registered
 * (../http/openapi.ts), and a reference page over it at `/api/docs`
 * (Swagger UI, served from the package: no CDN).
 *
 * Both are public: the document says what docs/api.md says, names no user and
 * holds no data, and a browser cannot negotiate for ceod's service principal
 * (docs/authorization.md#who-may-do-what). Registered last, so the document is
 * built (once, when the app is ready) from every route.
 */
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { openApiDocument } from '../http/openapi';
import { documented } from '../http/route';

export async function docsRoutes(app: FastifyInstance, opts: { version: string }): Promise<void> {
  // Filled when the app is ready (every route registered); @fastify/swagger's static
  // mode hands this object to the reference page as it is then.
  const document: Record<string, unknown> = {};
  app.addHook('onReady', async () => {
    Object.assign(document, openApiDocument(app.ceodRoutes, { version: opts.version }));
  });
  await app.register(fastifySwagger, { mode: 'static', specification: { document: document as never } });
  await app.register(fastifySwaggerUi, {
    routePrefix: '/api/docs',
    uiConfig: { deepLinking: true },
    staticCSP: true,
  });
  const doc = documented({
    access: 'public',
    summary: 'This document (OpenAPI 3.1)',
    responses: { 200: z.record(z.string(), z.unknown()).meta({ description: 'an OpenAPI 3.1 document' }) },
  });
  app.get('/api/openapi.json', doc, async () => document);
}
