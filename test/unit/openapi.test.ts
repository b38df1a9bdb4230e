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
import { sealSecret } from '../../src/core/secret-box';
import { exampleConfig, fakeLdap, MemoryJobStore, MemorySessions, negotiateAs, noEvents, person, RecordingQueue, tokenIsUid } from '../fakes/ports';

const log = createLogger({ level: 'silent', host: 'test', process: 'test' });

const config = exampleConfig();

/** A job store whose secrets are what a completed job sealed (the memory store keeps none). */
class StoreWithSecrets extends MemoryJobStore {
  readonly sealed = new Map<string, Record<string, string>>();
  override async secrets(...[id]: string[]) {
    return this.sealed.get(id!) ?? {};
  }
}
let store: StoreWithSecrets;
/** The store of `app` (the one built first). */
let appStore: StoreWithSecrets;

async function build(extra: (app: FastifyInstance) => void = () => undefined): Promise<FastifyInstance> {
  const ldap = fakeLdap([person('ctdalek'), person('regular1')], { ctdalek: ['syscom'] });
  store = new StoreWithSecrets();
  const app = await buildApp({ config, store, queue: new RecordingQueue(), events: noEvents, sessions: new MemorySessions(), ldap, log, authenticate: tokenIsUid(config.kerberos.realm), version: '1.2.3' });
  extra(app);
  await app.ready();
  return app;
}

let app: FastifyInstance;
let doc: any;
beforeAll(async () => {
  app = await build();
  appStore = store;
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

test('the job list, bulk renewal and member databases: their schemas, job types and who may call them', () => {
  const list = doc.paths['/api/jobs'].get;
  expect(list.responses['200'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/JobList' });
  expect(list.parameters.map((p: any) => p.name).sort()).toEqual(['cursor', 'limit', 'requester', 'since', 'state', 'type']);
  const item = doc.components.schemas.JobList.properties.jobs.items;
  expect(Object.keys(item.properties).sort()).toEqual(['created_at', 'finished_at', 'id', 'requester', 'state', 'subject', 'type']);
  expect(doc.components.schemas.JobList.properties).toHaveProperty('next');

  const renew = doc.paths['/api/members/renew'].post;
  expect(renew['x-ceod-job-type']).toBe('renew_members');
  expect(renew['x-ceod-access']).toBe('syscom');
  expect(renew.responses['200'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/RenewalDryRun' });
  expect(renew.responses['202'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/Accepted' });
  expect(Object.keys(renew.requestBody.content['application/json'].schema.properties).sort()).toEqual(['all_expired', 'dry_run', 'non_member_terms', 'terms', 'uids']);

  for (const kind of ['mysql', 'postgresql']) {
    for (const [path, type] of [[`/api/db/${kind}/{uid}`, 'create_database'], [`/api/db/${kind}/{uid}/pwreset`, 'reset_database_password']] as const) {
      const op = doc.paths[path].post;
      expect([path, op['x-ceod-job-type'], op['x-ceod-access']]).toEqual([path, type, { self: 'syscom', club: true }]);
      expect(op.description).toContain("any member of that club's group");
      expect(op.responses['202'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/Accepted' });
      expect(op.parameters).toEqual([expect.objectContaining({ name: 'uid', in: 'path' }), expect.objectContaining({ name: 'Idempotency-Key' })]);
    }
  }
  // A 400 names every invalid field.
  expect(doc.components.schemas.Error.properties.error.properties).toHaveProperty('fields');
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
  it('a 400 keeps every invalid field (error.fields)', async () => {
    const res = await app.inject({ method: 'POST', url: '/api/members', headers: { authorization: negotiateAs('ctdalek') }, payload: { uid: 'A B', cn: 'X', terms: 'f2099' } });
    expect(res.statusCode).toBe(400);
    const fields = res.json().error.fields.map((f: { field: string }) => f.field);
    expect(fields).toEqual(expect.arrayContaining(['uid', 'terms']));
  });
  it("a real route's answer passes its own schema (the member read)", async () => {
    const res = await app.inject({ method: 'GET', url: '/api/members/regular1', headers: { authorization: negotiateAs('ctdalek') } });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ uid: 'regular1', groups: [], is_club_rep: false });
  });
});

describe('what clients read (src/cli, test/e2e) passes the schemas that filter it', () => {
  const as = (uid: string) => ({ authorization: negotiateAs(uid) });
  /** Submits through the route, then finishes the job as a worker would, with `result` on its last step. */
  async function finished(uid: string, url: string, payload: unknown, result: Record<string, unknown>): Promise<string> {
    const res = await app.inject({ method: 'POST', url, headers: as(uid), payload: payload as object });
    expect([url, res.statusCode]).toEqual([url, 202]);
    const id = res.json().id as string;
    const r = appStore.records.get(id)!;
    const at = new Date().toISOString();
    r.state = 'completed';
    r.startedAt = at;
    r.finishedAt = at;
    for (const step of r.steps) Object.assign(step, { state: 'completed', attempts: 1, startedAt: at, finishedAt: at, host: 'h1' });
    r.steps[r.steps.length - 1]!.result = result;
    return id;
  }

  it('the job list: every field of each item, and the next page', async () => {
    const ids = [];
    for (let i = 0; i < 3; i++) {
      ids.push((await app.inject({ method: 'POST', url: '/api/members/regular1/pwreset', headers: as('ctdalek') })).json().id);
      appStore.locks.clear(); // as if each had finished
    }
    const first = await app.inject({ method: 'GET', url: '/api/jobs?limit=2&type=reset_password', headers: as('ctdalek') });
    expect(first.statusCode).toBe(200);
    const page = first.json();
    expect(page.jobs).toHaveLength(2);
    expect(page.jobs[0]).toEqual({ id: expect.any(String), type: 'reset_password', state: 'queued', requester: 'ctdalek', created_at: expect.any(String), subject: 'regular1' });
    expect(page.next).toEqual(expect.any(String));
    const rest = (await app.inject({ method: 'GET', url: `/api/jobs?limit=2&type=reset_password&cursor=${encodeURIComponent(page.next)}`, headers: as('ctdalek') })).json();
    expect([...page.jobs, ...rest.jobs].map((j: { id: string }) => j.id).sort()).toEqual(ids.sort());
  });

  it("a database job's result: where to connect, and the password for its requester", async () => {
    const id = await finished('regular1', '/api/db/mysql/regular1', undefined, { created: true, hostname: 'db.example', port: 3306 });
    appStore.sealed.set(id, { password: sealSecret(config.secrets.secretsKey, `${id}/password`, 'pw-for-regular1') });
    const mine = (await app.inject({ method: 'GET', url: `/api/jobs/${id}`, headers: as('regular1') })).json();
    expect(mine.result).toEqual({ created: true, hostname: 'db.example', port: 3306, password: 'pw-for-regular1' });
    expect(mine.steps.map((s: { host: string; duration_ms: number }) => [s.host, s.duration_ms])).toEqual(mine.steps.map(() => ['h1', 0]));
    // Not to anyone else.
    expect((await app.inject({ method: 'GET', url: `/api/jobs/${id}`, headers: as('ctdalek') })).json().result).not.toHaveProperty('password');
  });

  it("bulk renewal: the dry run's answer, and each member's outcome in the job's result", async () => {
    const dry = await app.inject({ method: 'POST', url: '/api/members/renew', headers: as('ctdalek'), payload: { uids: ['regular1', 'ctdalek'], terms: ['f2099'], dry_run: true } });
    expect(dry.statusCode).toBe(200);
    expect(dry.json()).toEqual({ dry_run: true, as_of: expect.any(String), terms: ['f2099'], uids: ['ctdalek', 'regular1'] });
    const outcomes = { ctdalek: 'unchanged', regular1: 'renewed' };
    const id = await finished('ctdalek', '/api/members/renew', { uids: ['regular1', 'ctdalek'], terms: ['f2099'] }, { outcomes, shells_restored: { regular1: '/bin/bash' }, renewed_count: 1, unchanged_count: 1, gone_count: 0, failed_count: 0 });
    const job = (await app.inject({ method: 'GET', url: `/api/jobs/${id}`, headers: as('ctdalek') })).json();
    expect(job.type).toBe('renew_members');
    expect(job.result).toEqual({ outcomes, shells_restored: { regular1: '/bin/bash' }, renewed_count: 1, unchanged_count: 1, gone_count: 0, failed_count: 0 });
  });

  it("the expiry dry run's answer", async () => {
    const res = await app.inject({ method: 'POST', url: '/api/members/expire', headers: as('ctdalek'), payload: { dry_run: true } });
    expect(res.statusCode).toBe(200);
    expect(Object.keys(res.json()).sort()).toEqual(['as_of', 'current_term', 'dry_run', 'threshold', 'uids']);
  });
});
