/**
 * The audit's findings about requests (issue 10), against the app with fake
 * ports: each case here failed before its fix. Requests go through inject(),
 * or a real socket where Node's HTTP parser or timeouts are what is tested.
 */
import { connect } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/api/app';
import type { Config } from '../../src/config/schema';
import { createLogger } from '../../src/core/log';
import { duplicateKey } from '../../src/api/http/body';
import { exampleConfig, MemorySessions, fakeLdap, MemoryJobStore, negotiateAs, noEvents, person, RecordingQueue, tokenIsUid } from '../fakes/ports';

const log = createLogger({ level: 'silent', host: 'test', process: 'test' });
let store: MemoryJobStore;
let queue: RecordingQueue;
let app: FastifyInstance;

async function build(edit: (c: Config) => void = () => undefined) {
  const config = exampleConfig();
  edit(config);
  store = new MemoryJobStore();
  queue = new RecordingQueue();
  const ldap = fakeLdap([person('ctdalek'), person('office1'), person('regular1'), person('alice1')], { ctdalek: ['syscom'], office1: ['office'] });
  return buildApp({ config, store, queue, events: noEvents, sessions: new MemorySessions(), ldap, log, authenticate: tokenIsUid(config.kerberos.realm) });
}

beforeEach(async () => {
  app = await build();
});
afterEach(() => app.close());

const as = (uid: string) => ({ authorization: negotiateAs(uid) });
const send = (method: 'POST' | 'PATCH' | 'DELETE', url: string, payload: string | undefined, headers: Record<string, string>) =>
  app.inject({ method, url, headers, ...(payload === undefined ? {} : { payload }) });

describe('#13 duplicate JSON keys', () => {
  it('a body with a key twice is a 400, and nothing is enqueued', async () => {
    const res = await send('POST', '/api/members/expire', '{"dry_run":true,"dry_run":false}', { ...as('ctdalek'), 'content-type': 'application/json' });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({ code: 'BAD_REQUEST', field: 'body', message: expect.stringContaining('dry_run') });
    expect(queue.dispatched).toHaveLength(0);
  });
  it('finds duplicates at any depth, after unescaping, and not across objects', () => {
    expect(duplicateKey('{"a":1,"b":{"c":1,"c":2}}')).toBe('c');
    expect(duplicateKey('{"a":1,"\\u0061":2}')).toBe('a');
    expect(duplicateKey('{"a":{"x":1},"b":{"x":1},"l":[{"x":1},{"x":2}]}')).toBeNull();
    expect(duplicateKey('{"s":"a\\"b","t":"a,b:{c}"}')).toBeNull();
  });
  it('__proto__ keys are refused', async () => {
    const res = await send('POST', '/api/members/expire', '{"__proto__":{"dry_run":true}}', { ...as('ctdalek'), 'content-type': 'application/json' });
    expect(res.statusCode).toBe(400);
  });
});

describe('#14 hygiene', () => {
  it('a compressed body is a 415 in the project shape', async () => {
    const res = await send('POST', '/api/members/expire', '{"dry_run":true}', { ...as('ctdalek'), 'content-type': 'application/json', 'content-encoding': 'gzip' });
    expect(res.statusCode).toBe(415);
    expect(res.json().error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
  });
  it('bad JSON is the project shape', async () => {
    const res = await send('POST', '/api/members/expire', '{"dry_run":', { ...as('ctdalek'), 'content-type': 'application/json' });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ error: { code: 'BAD_REQUEST', message: 'body: not valid JSON', field: 'body' } });
  });
  it('/health names what is down, never why', async () => {
    await app.close();
    const config = exampleConfig();
    const ldap = fakeLdap([], {});
    (ldap as unknown as { ping: () => Promise<void> }).ping = async () => {
      throw new Error('connect ECONNREFUSED 10.1.2.3:636 as cn=ceod,dc=secret');
    };
    app = await buildApp({ config, store: new MemoryJobStore(), queue: new RecordingQueue(), events: noEvents, sessions: new MemorySessions(), ldap, log, authenticate: tokenIsUid('X') });
    const res = await app.inject({ method: 'GET', url: '/health' });
    expect(res.statusCode).toBe(503);
    expect(res.json().checks).toEqual({ redis: 'ok', ldap: 'unreachable' });
    expect(res.body).not.toMatch(/ECONNREFUSED|10\.1\.2\.3|secret/);
  });
  it('a path parameter past the router limit is a 414 in the project shape', async () => {
    const res = await app.inject({ method: 'GET', url: `/api/members/${'a'.repeat(200)}`, headers: as('ctdalek') });
    expect(res.statusCode).toBe(414);
    expect(res.json().error.code).toBe('URI_TOO_LONG');
  });
});

describe('the original client\'s bodies (curl -d)', () => {
  it('a JSON body sent as application/x-www-form-urlencoded is read as JSON', async () => {
    const res = await send('POST', '/api/members/alice1/renew', '{"terms":["w2099"]}', { ...as('office1'), 'content-type': 'application/x-www-form-urlencoded' });
    expect(res.statusCode).toBe(202);
    expect(queue.dispatched[0]!.payload).toEqual({ uid: 'alice1', terms: ['w2099'] });
  });
  it('a route without a body takes an empty one whatever its content type', async () => {
    for (const type of ['application/x-www-form-urlencoded', 'text/plain', 'application/octet-stream', 'application/json']) {
      const res = await send('POST', '/api/members/alice1/pwreset', '', { ...as('office1'), 'content-type': type });
      expect([type, res.statusCode]).toEqual([type, res.statusCode === 409 ? 409 : 202]);
    }
    expect(queue.dispatched).toHaveLength(1); // the later three are 409s: the first job holds alice1
  });
  it('a non-empty body of another content type is a 415', async () => {
    const res = await send('POST', '/api/members/alice1/renew', 'terms=w2099', { ...as('office1'), 'content-type': 'text/plain' });
    expect(res.statusCode).toBe(415);
  });
});

describe('cross-site requests', () => {
  it('a foreign Origin is refused (403) before authentication, and nothing is enqueued', async () => {
    const res = await send('POST', '/api/members/alice1/pwreset', undefined, { ...as('office1'), origin: 'https://evil.example' });
    expect(res.statusCode).toBe(403);
    expect(res.json().error.message).toMatch(/cross-site/);
    // Refused before authentication: no Negotiate challenge.
    expect(res.headers['www-authenticate']).toBeUndefined();
    expect(queue.dispatched).toHaveLength(0);
  });
  it('so is Sec-Fetch-Site: cross-site, and the cookie alone does not help', async () => {
    const res = await send('POST', '/api/members/alice1/pwreset', undefined, { 'sec-fetch-site': 'cross-site', cookie: 'ceod_session=x' });
    expect(res.statusCode).toBe(403);
  });
  it('the API\'s own origin and configured ones pass; no Origin (curl) passes', async () => {
    await app.close();
    app = await build((c) => void ((c.ceod as { allowed_origins: string[] }).allowed_origins = ['https://ceo.example.org']));
    expect((await send('POST', '/api/members/alice1/pwreset', undefined, { ...as('office1'), origin: 'https://ceo.example.org' })).statusCode).toBe(202);
    expect((await app.inject({ method: 'GET', url: '/api/members/alice1', headers: { ...as('office1'), host: 'api.example.org', origin: 'http://api.example.org' } })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/api/members/alice1', headers: as('office1') })).statusCode).toBe(200);
  });
});

describe('#12 Idempotency-Key is bound to the request', () => {
  it('reusing a key for another request is a 422, not a replay of the first job', async () => {
    const key = { 'idempotency-key': 'k-1', 'content-type': 'application/json' };
    const first = await send('POST', '/api/members/alice1/renew', '{"terms":["w2099"]}', { ...as('office1'), ...key });
    expect(first.statusCode).toBe(202);
    const same = await send('POST', '/api/members/alice1/renew', '{ "terms" : [ "w2099" ] }', { ...as('office1'), ...key });
    expect([same.statusCode, same.json().id]).toEqual([202, first.json().id]);
    const otherBody = await send('POST', '/api/members/alice1/renew', '{"terms":["s2099"]}', { ...as('office1'), ...key });
    expect(otherBody.statusCode).toBe(422);
    expect(otherBody.json().error.code).toBe('IDEMPOTENCY_KEY_REUSED');
    const otherRoute = await send('POST', '/api/members/alice1/pwreset', undefined, { ...as('office1'), 'idempotency-key': 'k-1' });
    expect(otherRoute.statusCode).toBe(422);
    expect(queue.dispatched).toHaveLength(1);
  });
});

describe('#4 and #7 text and addresses', () => {
  it('an unpaired surrogate or a control character in a name is a 400 naming the field', async () => {
    for (const cn of ['\ud800x', 'a\u0007b', 'x\u2028y']) {
      const res = await app.inject({ method: 'POST', url: '/api/members', headers: as('office1'), payload: { uid: 'bob1', cn, given_name: 'B', sn: 'O', terms: ['w2099'] } });
      expect([cn, res.statusCode, res.json().error.field]).toEqual([cn, 400, 'cn']);
    }
    expect(queue.dispatched).toHaveLength(0);
  });
  it.each(['#comment@x.org', 'a|b@x.org', 'a/b@x.org', 'a`b@x.org', 'a{b}@x.org', 'a%b@x.org', 'a\\b@x.org', '"q"@x.org'])('the forwarding address %j is a 400 before anything is enqueued', async (bad) => {
    const res = await app.inject({ method: 'PATCH', url: '/api/members/alice1', headers: as('alice1'), payload: { forwarding_addresses: ['ok@example.org', bad] } });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.field).toBe('forwarding_addresses.1');
    expect(queue.dispatched).toHaveLength(0);
  });
});

describe('#6 request timeouts', () => {
  /** Sends `head` + a partial body on a raw socket; resolves with what came back and when the server closed. */
  const slowBody = async (headers: string) => {
    await app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = app.server.address() as { port: number };
    const t0 = Date.now();
    const answer = await new Promise<string>((resolve) => {
      const s = connect(port, '127.0.0.1', () => {
        s.write(`POST /api/members/expire HTTP/1.1\r\nHost: x\r\n${headers}Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"dry_run":`);
      });
      let got = '';
      s.on('data', (d) => (got += d.toString()));
      s.on('close', () => resolve(got));
      s.on('error', () => resolve(got));
    });
    return { answer, ms: Date.now() - t0 };
  };
  it('an authenticated client that declares more body than it sends is answered 408 and cut off in time', async () => {
    await app.close();
    app = await build((c) => Object.assign(c.ceod as object, { request_timeout_ms: 1500, connection_timeout_ms: 10_000 }));
    const { answer, ms } = await slowBody(`Authorization: ${negotiateAs('ctdalek')}\r\n`);
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
    expect(answer).toContain('"REQUEST_TIMEOUT"');
    expect(ms).toBeLessThan(8000);
  });
  it('an unauthenticated one gets its 401 and the connection closed at once, not held', async () => {
    const { answer, ms } = await slowBody('');
    expect(answer).toMatch(/^HTTP\/1\.1 401/);
    expect(answer.toLowerCase()).toContain('connection: close');
    expect(ms).toBeLessThan(3000);
  });
  it('headers that are too large are a 431 in the project shape', async () => {
    await app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = app.server.address() as { port: number };
    const answer = await new Promise<string>((resolve) => {
      const s = connect(port, '127.0.0.1', () => s.write(`GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`));
      let got = '';
      s.on('data', (d) => (got += d.toString()));
      s.on('close', () => resolve(got));
      s.on('error', () => resolve(got));
    });
    expect(answer).toMatch(/^HTTP\/1\.1 431/);
    expect(answer).toContain('"HEADERS_TOO_LARGE"');
  });
});

describe('#8 job payloads follow the member read\'s rules', () => {
  it('forwarding addresses in a job\'s payload are shown to their member and syscom only, whoever asked', async () => {
    const { newRecord } = await import('../../src/jobs/submit');
    const { createMember } = await import('../../src/jobs/create-member');
    const r = newRecord(createMember, { uid: 'alice1', cn: 'Alice One', given_name: 'Alice', sn: 'One', terms: ['w2099'], forwarding_addresses: ['alice@example.org'] }, 'office1');
    await store.submit(r);
    const view = async (uid: string) => (await app.inject({ method: 'GET', url: `/api/jobs/${r.id}`, headers: as(uid) })).json().payload.forwarding_addresses;
    expect(await view('office1')).not.toEqual(['alice@example.org']); // the requester, but office
    expect(await view('ctdalek')).toEqual(['alice@example.org']);
    // A member sees only their own jobs; alice1 did not ask for this one.
    expect((await app.inject({ method: 'GET', url: `/api/jobs/${r.id}`, headers: as('alice1') })).statusCode).toBe(403);
  });
});

describe('#12 what counts as the same request', () => {
  it('no body and {} are the same request for a key', async () => {
    const key = { 'idempotency-key': 'k-2' };
    const a = await send('POST', '/api/members/alice1/pwreset', undefined, { ...as('office1'), ...key });
    const b = await send('POST', '/api/members/alice1/pwreset', '{}', { ...as('office1'), ...key, 'content-type': 'application/json' });
    expect([a.statusCode, b.statusCode, b.json().id]).toEqual([202, 202, a.json().id]);
  });
});
