/**
 * The database routes with `app.inject()` and fake ports: who may ask (the
 * member, syscom, and for a club's account any member of its group, but not
 * through a member's personal group), the payload the job gets (the
 * account's numbers, for the fs host), and the API's own existence checks
 * (409 / 404) where it can ask the server, enqueueing anyway where it cannot.
 */
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/api/app';
import { TransientError } from '../../src/core/errors';
import { createLogger } from '../../src/core/log';
import type { MemberDatabase } from '../../src/core/ports';
import { exampleConfig, fakeLdap, MemoryJobStore, MemorySessions, negotiateAs, noEvents, person, RecordingQueue, tokenIsUid } from '../fakes/ports';

const config = exampleConfig();
const log = createLogger({ level: 'silent', host: 'test', process: 'test' });

let store: MemoryJobStore;
let queue: RecordingQueue;
let app: FastifyInstance;
/** Names that have a database, per kind, as the fake servers answer. */
let existing: Record<'mysql' | 'postgresql', Set<string>>;
let down = false;

const fakeDb = (kind: 'mysql' | 'postgresql'): MemberDatabase =>
  ({
    kind,
    exists: async (name: string) => {
      if (down) throw new TransientError('DB_UNAVAILABLE', 'down');
      return existing[kind].has(name);
    },
  }) as unknown as MemberDatabase;

async function build(withDatabases: boolean) {
  store = new MemoryJobStore();
  queue = new RecordingQueue();
  const ldap = fakeLdap(
    [
      person('ctdalek'),
      person('office1'),
      person('regular1', { uidNumber: 20010, gidNumber: 20011 }),
      person('alice1'),
      person('chess', { uidNumber: 30001, gidNumber: 30001, objectClasses: ['club'] }),
    ],
    // alice1 is in chess's group, and (oddly) in regular1's personal group: that grants nothing.
    { ctdalek: ['syscom'], office1: ['office'], alice1: ['chess', 'regular1'] },
  );
  app = await buildApp({
    config,
    store,
    queue,
    events: noEvents,
    sessions: new MemorySessions(),
    ldap,
    log,
    authenticate: tokenIsUid(config.kerberos.realm),
    ...(withDatabases ? { databases: { mysql: fakeDb('mysql'), postgresql: fakeDb('postgresql') } } : {}),
  });
}

beforeEach(async () => {
  existing = { mysql: new Set(), postgresql: new Set() };
  down = false;
  await build(true);
});
afterEach(() => app.close());

const post = (url: string, as: string, body?: string, headers: Record<string, string> = {}) =>
  app.inject({ method: 'POST', url, headers: { authorization: negotiateAs(as), ...headers }, ...(body === undefined ? {} : { payload: body }) });

describe('who may ask', () => {
  it.each([
    ['the member', 'regular1', '/api/db/mysql/regular1', 202],
    ['syscom', 'ctdalek', '/api/db/postgresql/regular1', 202],
    ['office (not syscom)', 'office1', '/api/db/mysql/regular1', 403],
    ['another member', 'alice1', '/api/db/mysql/regular1', 403],
    ["a member of the club's group", 'alice1', '/api/db/mysql/chess', 202],
    ['a member outside the club', 'regular1', '/api/db/postgresql/chess', 403],
    ['syscom, for a club', 'ctdalek', '/api/db/postgresql/chess', 202],
  ])('%s: %s → %s', async (_who, as, url, status) => {
    const res = await post(url, as);
    expect(res.statusCode).toBe(status);
    expect(queue.dispatched).toHaveLength(status === 202 ? 1 : 0);
    if (status === 403) expect(res.json().error.code).toBe('FORBIDDEN');
  });

  it('the password reset too', async () => {
    existing.mysql.add('regular1');
    expect((await post('/api/db/mysql/regular1/pwreset', 'regular1')).statusCode).toBe(202);
    expect((await post('/api/db/mysql/regular1/pwreset', 'office1')).statusCode).toBe(403);
  });
});

describe('the job', () => {
  it('gets the account, its kind and numbers; the lock is the member', async () => {
    const res = await post('/api/db/mysql/regular1', 'regular1');
    const record = store.records.get(res.json().id)!;
    expect(record).toMatchObject({ type: 'create_database', requester: 'regular1', lockKey: 'member:regular1' });
    expect(record.payload).toEqual({ uid: 'regular1', kind: 'mysql', account: 'member', uid_number: 20010, gid_number: 20011 });
    expect(record.steps.map((s) => [s.name, s.role])).toEqual([
      ['check_database', 'db'],
      ['create_database', 'db'],
      ['write_database_info', 'fs'],
    ]);
    const club = await post('/api/db/postgresql/chess', 'alice1');
    expect(store.records.get(club.json().id)!.payload).toMatchObject({ account: 'club', kind: 'postgresql', uid_number: 30001 });
  });

  it('a reset is reset_database_password', async () => {
    existing.postgresql.add('regular1');
    const res = await post('/api/db/postgresql/regular1/pwreset', 'regular1');
    const record = store.records.get(res.json().id)!;
    expect(record.type).toBe('reset_database_password');
    expect(record.steps.map((s) => s.name)).toEqual(['set_database_password', 'write_database_info']);
  });

  it('takes an empty body of any content type (curl -X POST, curl -d "")', async () => {
    expect((await post('/api/db/mysql/regular1', 'regular1', '', { 'content-type': 'application/x-www-form-urlencoded' })).statusCode).toBe(202);
  });
});

describe('checks before anything is enqueued', () => {
  it('409 DB_EXISTS for a database that exists; 404 DB_NO_SUCH_DATABASE for a reset without one', async () => {
    existing.mysql.add('regular1');
    const taken = await post('/api/db/mysql/regular1', 'regular1');
    expect(taken.statusCode).toBe(409);
    expect(taken.json().error).toMatchObject({ code: 'DB_EXISTS', field: 'uid' });
    const missing = await post('/api/db/postgresql/regular1/pwreset', 'regular1');
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error).toMatchObject({ code: 'DB_NO_SUCH_DATABASE', field: 'uid' });
    expect(queue.dispatched).toHaveLength(0);
  });

  it('404 for an account that does not exist; 400 for a bad name', async () => {
    expect((await post('/api/db/mysql/nobody9', 'ctdalek')).statusCode).toBe(404);
    expect((await post('/api/db/mysql/Bad%20Name', 'ctdalek')).statusCode).toBe(400);
    expect((await post('/api/db/oracle/regular1', 'ctdalek')).statusCode).toBe(404);
    expect(queue.dispatched).toHaveLength(0);
  });

  it('a second job for the account while one runs: 409 naming it', async () => {
    const first = await post('/api/db/mysql/regular1', 'regular1');
    const second = await post('/api/db/postgresql/regular1', 'regular1');
    expect(second.statusCode).toBe(409);
    expect(second.json().error.job_id).toBe(first.json().id);
  });

  it('enqueues anyway when the server does not answer, or the host has no section (the job checks)', async () => {
    down = true;
    existing.mysql.add('regular1');
    expect((await post('/api/db/mysql/regular1', 'regular1')).statusCode).toBe(202);
    await app.close();
    await build(false);
    expect((await post('/api/db/postgresql/regular1/pwreset', 'regular1')).statusCode).toBe(202);
  });
});
