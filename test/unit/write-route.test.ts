/**
 * The API's write-route helper with `app.inject()` and fake ports (no socket,
 * no Redis, no LDAP): a valid request is submitted and answered 202; the
 * declared access is enforced before the body is read; a bad body is a 400
 * with nothing enqueued; a held lock is a 409 naming the job; an
 * Idempotency-Key replays the first job; a queue that cannot take the job
 * leaves nothing behind.
 */
import { z } from 'zod';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/api/app';
import { writeRoute } from '../../src/api/http/route';
import { createLogger } from '../../src/core/log';
import type { JobType } from '../../src/jobs/step';
import { exampleConfig, MemorySessions, fakeLdap, MemoryJobStore, negotiateAs, noEvents, person, RecordingQueue, tokenIsUid } from '../fakes/ports';

const config = exampleConfig();
const log = createLogger({ level: 'silent', host: 'test', process: 'test' });

let store: MemoryJobStore;
let queue: RecordingQueue;
let app: FastifyInstance;

beforeEach(async () => {
  store = new MemoryJobStore();
  queue = new RecordingQueue();
  const ldap = fakeLdap([person('ctdalek'), person('office1'), person('regular1'), person('alice1')], { ctdalek: ['syscom'], office1: ['office'] });
  app = await buildApp({ config, store, queue, events: noEvents, sessions: new MemorySessions(), ldap, log, authenticate: tokenIsUid(config.kerberos.realm) });
});
afterEach(() => app.close());

const post = (url: string, as: string | null, body?: unknown, headers: Record<string, string> = {}) =>
  app.inject({ method: 'POST', url, headers: { ...(as ? { authorization: negotiateAs(as) } : {}), ...headers }, ...(body === undefined ? {} : { payload: body as object }) });

describe('write routes declared with writeRoute', () => {
  it('submits a valid request and answers 202 with where to watch it', async () => {
    const res = await post('/api/members/alice1/renew', 'office1', { terms: ['w2099'] });
    expect(res.statusCode).toBe(202);
    const { id } = res.json();
    expect(res.json()).toEqual({ id, status_url: `/api/jobs/${id}`, events_url: `/api/jobs/${id}/events` });
    expect(res.headers.location).toBe(`/api/jobs/${id}`);
    expect(queue.dispatched).toHaveLength(1);
    expect(store.records.get(id)).toMatchObject({ type: 'renew_member', requester: 'office1', payload: { uid: 'alice1', terms: ['w2099'] } });
  });

  it('refuses a caller the route does not allow (403) before reading the body, and enqueues nothing', async () => {
    const res = await post('/api/members/alice1/renew', 'regular1', { nonsense: true });
    expect(res.statusCode).toBe(403);
    expect(res.json().error).toMatchObject({ code: 'FORBIDDEN', message: 'regular1 may not renew members' });
    expect(queue.dispatched).toHaveLength(0);
  });

  it('checks the path before access: a bad uid is a 400 naming the field', async () => {
    const res = await post('/api/members/Bad!/renew', 'office1', { terms: ['w2099'] });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({ code: 'BAD_REQUEST', field: 'uid' });
  });

  it('a bad body is a 400 naming the field, and nothing is enqueued', async () => {
    const res = await post('/api/members/alice1/renew', 'office1', { terms: ['x2099'] });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.field).toBe('terms.0');
    expect(store.records.size).toBe(0);
    expect(queue.dispatched).toHaveLength(0);
  });

  it('a bad body names every invalid field at once: error.fields, error.field the first', async () => {
    const res = await post('/api/members', 'office1', { uid: 'Bad Uid', cn: '', terms: ['x2099', 'f2099', 'y1'], forwarding_addresses: 'me', is_admin: true, shell: 1 });
    expect(res.statusCode).toBe(400);
    const { error } = res.json();
    expect(error.fields.map((f: { field: string }) => f.field)).toEqual(['uid', 'cn', 'terms.0', 'terms.2', 'forwarding_addresses', 'is_admin', 'shell']);
    expect(error.field).toBe('uid');
    for (const f of error.fields) {
      expect(f.message).toEqual(expect.any(String));
      expect(error.message).toContain(`${f.field}: ${f.message}`);
    }
    expect(error.fields.find((f: { field: string }) => f.field === 'is_admin').message).toBe('unknown field');
    expect(queue.dispatched).toHaveLength(0);
  });

  it('a body with one bad field lists just that one', async () => {
    const res = await post('/api/members/alice1/renew', 'office1', { terms: ['x2099'] });
    expect(res.json().error.fields).toEqual([{ field: 'terms.0', message: res.json().error.message.replace(/^terms\.0: /, '') }]);
  });

  it('a route without a body refuses one', async () => {
    const res = await post('/api/members/alice1/pwreset', 'office1', { uid: 'someone-else' });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.message).toMatch(/unknown field/);
  });

  it('a second job for the same resource is a 409 naming the first', async () => {
    const first = await post('/api/members/alice1/pwreset', 'office1');
    const second = await post('/api/members/alice1/pwreset', 'ctdalek');
    expect(second.statusCode).toBe(409);
    expect(second.json().error).toMatchObject({ code: 'CONFLICT', field: 'uid', job_id: first.json().id });
  });

  it('an Idempotency-Key returns the original job', async () => {
    const headers = { 'idempotency-key': 'k-1' };
    const a = await post('/api/members/alice1/pwreset', 'office1', undefined, headers);
    const b = await post('/api/members/alice1/pwreset', 'office1', undefined, headers);
    expect(b.statusCode).toBe(202);
    expect(b.headers['idempotent-replayed']).toBe('true');
    expect(b.json().id).toBe(a.json().id);
    expect(queue.dispatched).toHaveLength(1);
  });

  it('a queue that cannot take the job: 503 and nothing left half-submitted', async () => {
    queue.fail = true;
    const res = await post('/api/members/alice1/pwreset', 'office1');
    expect(res.statusCode).toBe(503);
    expect(store.records.size).toBe(0);
    expect(store.locks.size).toBe(0);
  });

  it('a route declared without an access rule is refused to everyone', async () => {
    const job: JobType<{ x: string }> = { name: 'x', payload: z.object({ x: z.string() }), steps: [{ name: 's', role: 'admin', title: () => 's', run: async () => undefined }] };
    const bare = await buildApp({ config, store, queue, events: noEvents, sessions: new MemorySessions(), ldap: fakeLdap([person('ctdalek')], { ctdalek: ['syscom'] }), log, authenticate: tokenIsUid(config.kerberos.realm) });
    await bare.register(async (api) => {
      api.addHook('onRequest', async (req) => void (req.caller = { uid: 'ctdalek', principal: 'ctdalek', groups: new Set(['syscom']), isSyscom: true, isStaff: true }));
      api.addHook('preHandler', (await import('../../src/api/http/auth')).enforceAccess);
      // Registered by hand, as a careless route would be, without writeRoute's declaration.
      api.post('/undeclared', async () => 'should not run');
      writeRoute(api, { method: 'POST', url: '/declared', access: 'syscom', what: 'x', job, payload: () => ({ x: 'y' }), subject: () => 'x' });
    }, { prefix: '/t' });
    expect((await bare.inject({ method: 'POST', url: '/t/undeclared' })).statusCode).toBe(403);
    expect((await bare.inject({ method: 'POST', url: '/t/declared' })).statusCode).toBe(202);
    await bare.close();
  });
});
