/**
 * The PostgreSQL adapter against the test stack's PostgreSQL, checked with the
 * native `psql` client logging in as the member. Every name this file makes
 * starts with a random prefix, and is dropped afterwards.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { MemberDatabase } from '../../src/core/ports';
import { createPostgresql, type PostgresqlOptions } from '../../src/postgresql';
import { codeOf } from '../helpers/rejection';
import { startService, stopService, testStack } from '../helpers/stack';
import { psqlAdmin, psqlAs } from '../helpers/verify';

const stack = testStack();
const suffix = Array.from({ length: 6 }, () => String.fromCharCode(97 + Math.floor(Math.random() * 26))).join('');
const name = (s: string) => `t${suffix}${s}`;

const opts: PostgresqlOptions = {
  host: stack.postgres.host,
  port: stack.postgres.port,
  user: stack.postgres.adminUser,
  password: stack.postgres.adminPassword,
  timeoutMs: 5000,
  poolSize: 2,
};

let db: MemberDatabase;
const made: string[] = [];

async function create(n: string, password: string) {
  made.push(n);
  await db.create(n, password);
}

const databases = async () => (await psqlAdmin(stack, 'SELECT datname FROM pg_database ORDER BY 1')).out.split('\n').filter(Boolean);
const roles = async () => (await psqlAdmin(stack, 'SELECT rolname FROM pg_roles ORDER BY 1')).out.split('\n').filter(Boolean);

beforeAll(() => {
  db = createPostgresql(opts);
});

afterAll(async () => {
  for (const n of made) await db.drop(n).catch(() => undefined);
  await db.close();
});

describe('PostgreSQL adapter', () => {
  test('answers ping', async () => {
    await expect(db.ping()).resolves.toBeUndefined();
  });

  test('creates a database owned by its role; the member logs in with the password and makes a table', async () => {
    const n = name('a');
    expect(await db.exists(n)).toBe(false);
    await create(n, 'FirstPassw0rd');
    expect(await db.exists(n)).toBe(true);
    const run = await psqlAs(stack, n, 'FirstPassw0rd', n, 'CREATE TABLE t (x int); INSERT INTO t VALUES (42); SELECT x FROM t');
    expect(run).toMatchObject({ ok: true });
    expect(run.out).toContain('42');
    expect((await psqlAdmin(stack, `SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = '${n}'`)).out.trim()).toBe(n);
    // CONNECT (and every other right) revoked from PUBLIC: only the owner's entry is left.
    expect((await psqlAdmin(stack, `SELECT datacl FROM pg_database WHERE datname = '${n}'`)).out.trim()).toBe(`{${n}=CTc/${n}}`);
    const attrs = (await psqlAdmin(stack, `SELECT rolsuper, rolcreatedb, rolcreaterole, rolcanlogin FROM pg_roles WHERE rolname = '${n}'`)).out.trim();
    expect(attrs).toBe('f|f|f|t');
  });

  test('create is an ensure: again, it changes nothing but the password', async () => {
    const n = name('b');
    await create(n, 'OnePassw0rdAAA');
    expect((await psqlAs(stack, n, 'OnePassw0rdAAA', n, 'CREATE TABLE kept (x int)')).ok).toBe(true);
    await create(n, 'TwoPassw0rdBBB');
    expect((await psqlAs(stack, n, 'OnePassw0rdAAA', n, 'SELECT 1')).ok).toBe(false);
    const run = await psqlAs(stack, n, 'TwoPassw0rdBBB', n, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'");
    expect(run.out).toContain('kept');
  });

  test('sets a password; a missing role is a permanent DB_NO_SUCH_DATABASE', async () => {
    const n = name('c');
    await create(n, 'OldPassw0rdCCC');
    await db.setPassword(n, 'NewPassw0rdDDD');
    expect((await psqlAs(stack, n, 'OldPassw0rdCCC', n, 'SELECT 1')).ok).toBe(false);
    expect((await psqlAs(stack, n, 'NewPassw0rdDDD', n, 'SELECT 1')).ok).toBe(true);
    const err = await codeOf(db.setPassword(name('nobody'), 'Secret1234567'));
    expect(err).toMatchObject({ name: 'PermanentError', code: 'DB_NO_SUCH_DATABASE' });
    expect(err.message).not.toContain('Secret1234567');
  });

  test('drop is delete-if-present, even with the member connected: true, then false', async () => {
    const n = name('d');
    await create(n, 'DropPassw0rdEEE');
    // A session that stays open while the database is dropped (FORCE ends it).
    const open = psqlAs(stack, n, 'DropPassw0rdEEE', n, 'SELECT pg_sleep(20)');
    await new Promise((r) => setTimeout(r, 500));
    expect(await db.drop(n)).toBe(true);
    expect((await open).ok).toBe(false);
    expect(await db.drop(n)).toBe(false);
    expect(await db.exists(n)).toBe(false);
    expect(await databases()).not.toContain(n);
    expect(await roles()).not.toContain(n);
  }, 30_000);

  test('another member cannot connect to the database', async () => {
    const [a, b] = [name('e'), name('f')];
    await create(a, 'PasswordOfE123');
    await create(b, 'PasswordOfF123');
    const run = await psqlAs(stack, b, 'PasswordOfF123', a, 'SELECT 1');
    expect(run.ok).toBe(false);
    expect(run.out).toMatch(/permission denied for database/);
  });

  test('names with _ and - are quoted identifiers', async () => {
    for (const n of [name('_a1'), name('-b2')]) {
      await create(n, 'QuotedPassw0rd');
      expect((await psqlAs(stack, n, 'QuotedPassw0rd', n, 'CREATE TABLE t (x int)')).ok).toBe(true);
    }
  });

  test.each(['a"b', "x'; DROP DATABASE postgres; --", 'Root', 'a b', '', 'a.b', '../x', 'a\\b', 'é', 'a'.repeat(33), '-a', '1a'])(
    'refuses the name %j before it reaches SQL',
    async (bad) => {
      const before = [await databases(), await roles()];
      for (const call of [() => db.exists(bad), () => db.create(bad, 'Whatever12345'), () => db.setPassword(bad, 'Whatever12345'), () => db.drop(bad)]) {
        expect(await codeOf(call())).toMatchObject({ name: 'PermanentError', code: 'INVALID_PAYLOAD', permanent: true });
      }
      expect([await databases(), await roles()]).toEqual(before);
    },
  );

  test('never creates, changes or drops a system database, a pg_ role or the admin role', async () => {
    for (const n of ['postgres', 'template1', 'public', 'pg_monitor', stack.postgres.adminUser]) {
      expect(await db.exists(n)).toBe(true);
      expect(await codeOf(db.create(n, 'Whatever12345'))).toMatchObject({ code: 'DB_REFUSED', permanent: true });
      expect(await codeOf(db.setPassword(n, 'Whatever12345'))).toMatchObject({ code: 'DB_REFUSED', permanent: true });
      expect(await db.drop(n)).toBe(false);
    }
    expect(await databases()).toContain('postgres');
    await expect(db.ping()).resolves.toBeUndefined();
  });

  test('a wrong admin password is a permanent DB_REFUSED that does not show it', async () => {
    const wrong = createPostgresql({ ...opts, password: 'wrong-Pa55word' });
    try {
      const err = await codeOf(wrong.exists(name('g')));
      expect(err).toMatchObject({ name: 'PermanentError', code: 'DB_REFUSED', permanent: true });
      expect(err.message).toMatch(/28P01|password authentication failed/);
      expect(err.message).not.toContain('wrong-Pa55word');
    } finally {
      await wrong.close();
    }
  });

  test('a closed port is a transient DB_UNAVAILABLE', async () => {
    const nowhere = createPostgresql({ ...opts, port: 1 });
    try {
      expect(await codeOf(nowhere.ping())).toMatchObject({ name: 'TransientError', code: 'DB_UNAVAILABLE', permanent: false });
    } finally {
      await nowhere.close();
    }
  });

  test('a server that never answers is a transient TIMEOUT within the deadline', async () => {
    const sockets: Socket[] = [];
    const silent: Server = createServer((s) => sockets.push(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const slow = createPostgresql({ ...opts, port: (silent.address() as { port: number }).port, timeoutMs: 400 });
    try {
      const started = Date.now();
      expect(await codeOf(slow.exists(name('h')))).toMatchObject({ name: 'TransientError', code: 'TIMEOUT' });
      expect(Date.now() - started).toBeLessThan(3000);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((r) => silent.close(r));
      await slow.close();
    }
  });

  test('a stopped server is transient, and the same adapter works again once it is back', async () => {
    const n = name('i');
    await db.ping(); // a pooled connection that the stop will break
    await stopService(stack, 'postgres');
    try {
      const err = await codeOf(db.create(n, 'StoppedPassw0rd'));
      expect(err).toMatchObject({ name: 'TransientError', permanent: false });
      expect(['DB_UNAVAILABLE', 'TIMEOUT']).toContain(err.code);
      expect(await codeOf(db.ping())).toMatchObject({ permanent: false });
    } finally {
      await startService(stack, 'postgres');
    }
    await create(n, 'StoppedPassw0rd');
    expect((await psqlAs(stack, n, 'StoppedPassw0rd', n, 'SELECT 1')).ok).toBe(true);
  }, 60_000);
});
