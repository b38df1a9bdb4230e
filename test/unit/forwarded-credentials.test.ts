/**
 * `X-KRB5-CRED` (a forwarded TGT, as the original client sends it) is
 * accepted and ignored: the request works as without it, no handler sees it,
 * and no log line, at any level, holds its value, whatever the request comes
 * to (202, 400, 401, 403, 404).
 */
import { Writable } from 'node:stream';
import { buildApp } from '../../src/api/app';
import { createLogger } from '../../src/core/log';
import { exampleConfig, fakeLdap, MemoryJobStore, MemorySessions, negotiateAs, noEvents, person, RecordingQueue, tokenIsUid } from '../fakes/ports';

const CRED = 'BQIAAAAAAAEAFENTQ0xVQi5VV0FURVJMT08uQ0EABGtyYnRndA-forwarded-tgt-value';

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { lines, log: createLogger({ level: 'trace', host: 'test', process: 'test', destination }) };
}

it('the logger redacts the header wherever it is logged', () => {
  const { lines, log } = capture();
  log.info({ req: { headers: { 'x-krb5-cred': CRED } } }, 'a');
  log.info({ headers: { 'x-krb5-cred': CRED } }, 'b');
  log.info({ 'x-krb5-cred': CRED }, 'c');
  log.info({ request: { headers: { 'x-krb5-cred': CRED } } }, 'd');
  expect(lines).toHaveLength(4);
  expect(lines.join('')).not.toContain(CRED);
  expect(lines.join('')).toContain('[redacted]');
});

it('a request carrying it works as without it, and leaves no trace of its value', async () => {
  const { lines, log } = capture();
  const config = exampleConfig();
  const store = new MemoryJobStore();
  const queue = new RecordingQueue();
  const ldap = fakeLdap([person('ctdalek'), person('office1'), person('regular1')], { ctdalek: ['syscom'], office1: ['office'] });
  const app = await buildApp({ config, store, queue, events: noEvents, sessions: new MemorySessions(), ldap, log, authenticate: tokenIsUid(config.kerberos.realm) });
  let seen: unknown = 'unset';
  app.get('/api-probe', async (req) => {
    seen = { parsed: req.headers['x-krb5-cred'], raw: req.raw.rawHeaders.map((h) => h.toLowerCase()).includes('x-krb5-cred') };
    req.log.info({ headers: req.headers }, 'probe');
    return {};
  });
  try {
    const cred = { 'x-krb5-cred': CRED };
    const created = await app.inject({
      method: 'POST',
      url: '/api/members',
      headers: { ...cred, authorization: negotiateAs('office1'), 'content-type': 'application/x-www-form-urlencoded' },
      payload: JSON.stringify({ uid: 'test_1', cn: 'Test One', program: 'Math', terms: ['f2099'] }),
    });
    expect(created.statusCode).toBe(202);
    expect(store.records.get(created.json().id)!.payload).toMatchObject({ uid: 'test_1', given_name: 'Test', sn: 'One' });
    const statuses = [];
    for (const r of [
      { method: 'POST' as const, url: '/api/members', headers: { ...cred, authorization: negotiateAs('office1') }, payload: { uid: 'Bad' } },
      { method: 'GET' as const, url: '/api/members/regular1', headers: cred },
      { method: 'POST' as const, url: '/api/members', headers: { ...cred, authorization: negotiateAs('regular1') }, payload: {} },
      { method: 'GET' as const, url: '/api/nowhere', headers: { ...cred, authorization: negotiateAs('regular1') } },
      { method: 'GET' as const, url: '/api-probe', headers: cred },
    ]) {
      statuses.push((await app.inject(r)).statusCode);
    }
    expect(statuses).toEqual([400, 401, 403, 404, 200]);
    expect(seen).toEqual({ parsed: undefined, raw: false });
    expect(lines.length).toBeGreaterThan(10);
    expect(lines.join('')).not.toContain(CRED);
    expect(JSON.stringify([...store.records.values()])).not.toContain(CRED);
  } finally {
    await app.close();
  }
});
