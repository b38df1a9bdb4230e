/**
 * The OpenAPI document (docs/api.md#openapi), against the app with fake
 * ports: it names every route the app registers (from `app.ceodRoutes`, so a
 * route added without documentation fails here), it validates as OpenAPI
 * 3.1, it is public, and the response schemas that document the routes also
 * filter what they send.
 */
import { validate } from '@readme/openapi-parser';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { buildApp } from '../../src/api/app';
import { defineRoute } from '../../src/api/http/route';
import { openApiPath } from '../../src/api/http/openapi';
import { createLogger } from '../../src/core/log';
import { exampleConfig, fakeLdap, MemoryJobStore, MemorySessions, negotiateAs, noEvents, person, RecordingQueue, tokenIsUid } from '../fakes/ports';

const log = createLogger({ level: 'silent', host: 'test', process: 'test' });

async function build(extra: (app: FastifyInstance) => void = () => undefined): Promise<FastifyInstance> {
  const config = exampleConfig();
  const ldap = fakeLdap([person('ctdalek'), person('regular1')], { ctdalek: ['syscom'] });
  const app = await buildApp({ config, store: new MemoryJobStore(), queue: new RecordingQueue(), events: noEvents, sessions: new MemorySessions(), ldap, log, authenticate: tokenIsUid(config.kerberos.realm), version: '1.2.3' });
  extra(app);
  await app.ready();
  return app;
}

let app: FastifyInstance;
let doc: any;
beforeAll(async () => {
  app = await build();
  const res = await app.inject({ method: 'GET', url: '/api/openapi.json' });
  expect(res.statusCode).toBe(200);
  doc = res.json();
  if (process.env.CEOD_WRITE_OPENAPI) require('node:fs').writeFileSync(process.env.CEOD_WRITE_OPENAPI, JSON.stringify(doc, null, 1));
});
afterAll(() => app.close());

test('every registered route is in the document, with its method', () => {
  const routes = app.ceodRoutes.filter((r) => !r.hidden);
  expect(routes.length).toBeGreaterThan(20);
  const missing = routes.filter((r) => !doc.paths[openApiPath(r.url)]?.[r.method.toLowerCase()]).map((r) => `${r.method} ${r.url}`);
  expect(missing).toEqual([]);
  // And nothing else: each operation is a registered route.
  const documented = Object.entries(doc.paths as Record<string, object>).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`));
  expect(documented.sort()).toEqual(routes.map((r) => `${r.method} ${openApiPath(r.url)}`).sort());
  // The hidden routes are the reference page's assets and nothing of the API.
  for (const r of app.ceodRoutes.filter((x) => x.hidden)) expect(r.url).toMatch(/^\/api\/docs(\/|$)/);
});

test('the document validates as OpenAPI 3.1', async () => {
  expect(doc.openapi).toBe('3.1.0');
  expect(doc.info.version).toBe('1.2.3');
  const result = await validate(structuredClone(doc));
  expect(result.valid ? [] : result.errors).toEqual([]);
  // The validator is not a rubber stamp: a response without a description is refused.
  const broken = structuredClone(doc);
  delete broken.paths['/health'].get.responses['200'].description;
  expect((await validate(broken)).valid).toBe(false);
});

test('every operation declares a success response with a schema, and its errors', () => {
  for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, any>>)) {
    for (const [method, op] of Object.entries(ops)) {
      const success = Object.keys(op.responses).filter((s) => /^2\d\d$/.test(s));
      expect([path, method, success.length > 0]).toEqual([path, method, true]);
      for (const s of success) expect(Object.values(op.responses[s].content)[0]).toHaveProperty('schema');
      expect(op.responses.default).toEqual({ $ref: '#/components/responses/Error' });
    }
  }
  const read = doc.paths['/api/members/{uid}'].get;
  expect(read.responses['200'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/Member' });
  expect(Object.keys(read.responses)).toEqual(expect.arrayContaining(['400', '401', '403', '404', '503']));
  expect(read.parameters).toEqual([expect.objectContaining({ name: 'uid', in: 'path', required: true })]);
  expect(doc.components.schemas.Member.properties).toHaveProperty('forwarding_addresses');
  expect(doc.components.schemas.Member.required).toEqual(expect.arrayContaining(['uid', 'cn', 'terms', 'groups']));
});

test('writes: the body as the payload schema checks it, the 202, the Idempotency-Key and the job type', () => {
  const create = doc.paths['/api/members'].post;
  expect(create['x-ceod-job-type']).toBe('create_member');
  expect(create['x-ceod-access']).toBe('staff');
  expect(create.responses['202'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/Accepted' });
  expect(create.responses['409']).toBeDefined();
  expect(create.requestBody.required).toBe(true);
  // given_name and sn may be left out (derived from cn, docs/api.md#create-a-member).
  expect(create.requestBody.content['application/json'].schema).toMatchObject({ type: 'object', required: ['uid', 'cn'], additionalProperties: false });
  expect(create.requestBody.content['application/json'].schema.properties).toHaveProperty('given_name');
  expect(create.parameters).toEqual([expect.objectContaining({ name: 'Idempotency-Key', in: 'header', required: false })]);
  // PATCH: the payload schema without the uid the path gives.
  const modify = doc.paths['/api/members/{uid}'].patch;
  expect(Object.keys(modify.requestBody.content['application/json'].schema.properties).sort()).toEqual(['forwarding_addresses', 'login_shell']);
  expect(modify['x-ceod-access']).toEqual({ self: 'syscom' });
  // A write without a body documents none.
  expect(doc.paths['/api/members/{uid}/pwreset'].post.requestBody).toBeUndefined();
  // A query's defaults and bounds, from the zod schema that validates it.
  const list = doc.paths['/api/members'].get;
  expect(list.parameters.find((p: any) => p.name === 'limit')).toMatchObject({ in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: 500, default: 100 } });
  // Two successes: the dry run's 200 and the job's 202.
  expect(Object.keys(doc.paths['/api/members/expire'].post.responses)).toEqual(expect.arrayContaining(['200', '202']));
  expect(doc.paths['/api/jobs/{id}/events'].get.responses['200'].content).toHaveProperty('text/event-stream');
});

test('authentication: negotiate and the cookie everywhere, except the public routes', () => {
  expect(doc.components.securitySchemes.negotiate).toEqual(expect.objectContaining({ type: 'http', scheme: 'negotiate' }));
  expect(doc.components.securitySchemes.session).toEqual(expect.objectContaining({ type: 'apiKey', in: 'cookie', name: 'ceod_session' }));
  expect(doc.security).toEqual([{ negotiate: [] }, { session: [] }]);
  for (const path of ['/health', '/metrics', '/api/openapi.json']) expect([path, doc.paths[path].get.security]).toEqual([path, []]);
  expect(doc.paths['/api/members'].post.security).toBeUndefined();
});

test('the document and its reference page need no ticket; the API still does', async () => {
  const page = await app.inject({ method: 'GET', url: '/api/docs/' });
  expect(page.statusCode).toBe(200);
  expect(page.headers['content-type']).toMatch(/text\/html/);
  // Its script is served by the API itself (no CDN).
  expect(page.body).toContain('./static/swagger-ui-bundle.js');
  const bundle = await app.inject({ method: 'GET', url: '/api/docs/static/swagger-ui-bundle.js' });
  expect([bundle.statusCode, bundle.headers['content-type']]).toEqual([200, expect.stringMatching(/javascript/)]);
  const json = await app.inject({ method: 'GET', url: '/api/docs/json' });
  expect(json.json().paths).toEqual(doc.paths);
  expect((await app.inject({ method: 'GET', url: '/api/members/regular1' })).statusCode).toBe(401);
});

describe('response schemas filter what a route sends', () => {
  let leaky: FastifyInstance;
  beforeAll(async () => {
    leaky = await build((app) =>
      app.register(
        async (api) => {
          // As a route would be declared, registered beside the app's own (the auth hook is on /api's scope, not this one).
          api.addHook('onRequest', async (req) => {
            req.caller = { uid: 'ctdalek', principal: 'ctdalek@X', groups: new Set(['syscom']), isSyscom: true, isStaff: true };
          });
          defineRoute(api, {
            method: 'GET',
            url: '/leaky',
            access: 'member',
            what: 'test leaks',
            response: { 200: z.object({ uid: z.string(), nested: z.object({ shown: z.number() }) }) },
            handler: async () => ({ uid: 'alice1', password: 'hunter2', nested: { shown: 1, secret: 'x' } }),
          });
          defineRoute(api, {
            method: 'GET',
            url: '/wrong',
            access: 'member',
            what: 'test mismatches',
            response: { 200: z.object({ uid: z.string() }) },
            handler: async () => ({ uid: 42 }),
          });
          defineRoute(api, {
            method: 'GET',
            url: '/undeclared',
            access: 'member',
            what: 'test statuses',
            response: { 202: z.object({}) },
            handler: async () => ({ password: 'hunter2' }),
          });
        },
        { prefix: '/test' },
      ),
    );
  });
  afterAll(() => leaky.close());

  it('drops a field the schema does not declare, at every level', async () => {
    const res = await leaky.inject({ method: 'GET', url: '/test/leaky' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ uid: 'alice1', nested: { shown: 1 } });
  });
  it('a reply that does not match its schema, or a status the route does not declare, is a 500 that sends nothing of it', async () => {
    for (const url of ['/test/wrong', '/test/undeclared']) {
      const res = await leaky.inject({ method: 'GET', url });
      expect([url, res.statusCode]).toEqual([url, 500]);
      expect(res.json()).toEqual({ error: { code: 'UNKNOWN', message: 'internal error; see the ceod log' } });
      expect(res.body).not.toContain('hunter2');
    }
  });
  it('errors are held to the error shape', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/members/nobody1', headers: { authorization: negotiateAs('ctdalek') } });
    expect(res.statusCode).toBe(404);
    expect(Object.keys(res.json().error).sort()).toEqual(['code', 'field', 'message']);
  });
  it("a real route's answer passes its own schema (the member read)", async () => {
    const res = await app.inject({ method: 'GET', url: '/api/members/regular1', headers: { authorization: negotiateAs('ctdalek') } });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ uid: 'regular1', groups: [], is_club_rep: false });
  });
});
