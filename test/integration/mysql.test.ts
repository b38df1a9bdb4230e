/**
 * The MySQL adapter against the test stack's MariaDB, checked with the native
 * `mysql` client logging in as the member. Every name this file makes starts
 * with a random prefix, and is dropped afterwards.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { MemberDatabase } from '../../src/core/ports';
import { createMysql, type MysqlOptions } from '../../src/mysql';
import { codeOf } from '../helpers/rejection';
import { startService, stopService, testStack } from '../helpers/stack';
import { mysqlAdmin, mysqlAs } from '../helpers/verify';

const stack = testStack();
const suffix = Array.from({ length: 6 }, () => String.fromCharCode(97 + Math.floor(Math.random() * 26))).join('');
const name = (s: string) => `t${suffix}${s}`;

const opts: MysqlOptions = {
  host: stack.mysql.host,
  port: stack.mysql.port,
  user: stack.mysql.adminUser,
  password: stack.mysql.adminPassword,
  timeoutMs: 5000,
  poolSize: 2,
};

let db: MemberDatabase;
const made: string[] = [];

/** Creates through the adapter, remembering the name for cleanup. */
async function create(n: string, password: string) {
  made.push(n);
  await db.create(n, password);
}

const databases = async () => (await mysqlAdmin(stack, 'SHOW DATABASES')).out.split('\n').filter(Boolean).sort();
const users = async () => (await mysqlAdmin(stack, "SELECT CONCAT(User, '@', Host) FROM mysql.user")).out.split('\n').filter(Boolean).sort();

beforeAll(() => {
  db = createMysql(opts);
});

afterAll(async () => {
  for (const n of made) await db.drop(n).catch(() => undefined);
  await mysqlAdmin(stack, `DROP DATABASE IF EXISTS \`${name('xa1')}\``);
  await db.close();
});

describe('MySQL adapter', () => {
  test('answers ping', async () => {
    await expect(db.ping()).resolves.toBeUndefined();
  });

  test('creates a database and its user; the member logs in with the password and makes a table', async () => {
    const n = name('a');
    expect(await db.exists(n)).toBe(false);
    await create(n, 'FirstPassw0rd');
    expect(await db.exists(n)).toBe(true);
    const run = await mysqlAs(stack, n, 'FirstPassw0rd', n, 'CREATE TABLE t (x INT); INSERT INTO t VALUES (42); SELECT x FROM t');
    expect(run).toMatchObject({ ok: true });
    expect(run.out).toContain('42');
    // Every privilege on that database and nothing else.
    const grants = (await mysqlAs(stack, n, 'FirstPassw0rd', n, 'SHOW GRANTS')).out;
    expect(grants).toMatch(new RegExp(`GRANT ALL PRIVILEGES ON \`${n}\`\\.\\* TO \`${n}\`@\`%\``));
    expect(grants).toMatch(/GRANT USAGE ON \*\.\* TO/);
    expect(grants.split('\n').filter((l) => l.startsWith('GRANT'))).toHaveLength(2);
    expect((await mysqlAs(stack, n, 'FirstPassw0rd', 'mysql', 'SELECT 1')).ok).toBe(false);
  });

  test('create is an ensure: again, it changes nothing but the password', async () => {
    const n = name('b');
    await create(n, 'OnePassw0rdAAA');
    expect((await mysqlAs(stack, n, 'OnePassw0rdAAA', n, 'CREATE TABLE kept (x INT)')).ok).toBe(true);
    await create(n, 'TwoPassw0rdBBB');
    expect((await mysqlAs(stack, n, 'OnePassw0rdAAA', n, 'SELECT 1')).ok).toBe(false);
    const run = await mysqlAs(stack, n, 'TwoPassw0rdBBB', n, 'SHOW TABLES');
    expect(run.out).toContain('kept');
  });

  test('sets a password; a missing user is a permanent DB_NO_SUCH_DATABASE', async () => {
    const n = name('c');
    await create(n, 'OldPassw0rdCCC');
    await db.setPassword(n, 'NewPassw0rdDDD');
    expect((await mysqlAs(stack, n, 'OldPassw0rdCCC', n, 'SELECT 1')).ok).toBe(false);
    expect((await mysqlAs(stack, n, 'NewPassw0rdDDD', n, 'SELECT 1')).ok).toBe(true);
    const err = await codeOf(db.setPassword(name('nobody'), 'Secret1234567'));
    expect(err).toMatchObject({ name: 'PermanentError', code: 'DB_NO_SUCH_DATABASE' });
    expect(err.message).not.toContain('Secret1234567');
  });

  test('drop is delete-if-present: true, then false; the member can no longer log in', async () => {
    const n = name('d');
    await create(n, 'DropPassw0rdEEE');
    expect(await db.drop(n)).toBe(true);
    expect(await db.drop(n)).toBe(false);
    expect(await db.exists(n)).toBe(false);
    expect(await databases()).not.toContain(n);
    expect(await users()).not.toContain(`${n}@%`);
    expect((await mysqlAs(stack, n, 'DropPassw0rdEEE', n, 'SELECT 1')).ok).toBe(false);
  });

  test('another member cannot reach the database', async () => {
    const [a, b] = [name('e'), name('f')];
    await create(a, 'PasswordOfE123');
    await create(b, 'PasswordOfF123');
    const run = await mysqlAs(stack, b, 'PasswordOfF123', a, 'SELECT 1');
    expect(run.ok).toBe(false);
    expect(run.out).toMatch(/Access denied/);
  });

  test('an _ in a name is no wildcard: test_1 gets test_1, never testx1', async () => {
    const n = name('_a1');
    await mysqlAdmin(stack, `CREATE DATABASE \`${name('xa1')}\``);
    await create(n, 'UnderscorePw123');
    expect((await mysqlAs(stack, n, 'UnderscorePw123', n, 'CREATE TABLE t (x INT)')).ok).toBe(true);
    const other = await mysqlAs(stack, n, 'UnderscorePw123', name('xa1'), 'CREATE TABLE t (x INT)');
    expect(other.ok).toBe(false);
    expect(other.out).toMatch(/Access denied/);
  });

  test.each(['a`b', "x'; DROP DATABASE mysql; --", 'Root', 'a b', '', 'a.b', '../x', 'a\\b', 'é', 'a'.repeat(33), '-a', '1a'])(
    'refuses the name %j before it reaches SQL',
    async (bad) => {
      const before = [await databases(), await users()];
      for (const call of [() => db.exists(bad), () => db.create(bad, 'Whatever12345'), () => db.setPassword(bad, 'Whatever12345'), () => db.drop(bad)]) {
        expect(await codeOf(call())).toMatchObject({ name: 'PermanentError', code: 'INVALID_PAYLOAD', permanent: true });
      }
      expect([await databases(), await users()]).toEqual(before);
    },
  );

  test('never creates, changes or drops a system database or the admin account', async () => {
    for (const n of ['mysql', 'sys', 'test', stack.mysql.adminUser]) {
      expect(await db.exists(n)).toBe(true);
      expect(await codeOf(db.create(n, 'Whatever12345'))).toMatchObject({ code: 'DB_REFUSED', permanent: true });
      expect(await codeOf(db.setPassword(n, 'Whatever12345'))).toMatchObject({ code: 'DB_REFUSED', permanent: true });
      expect(await db.drop(n)).toBe(false);
    }
    expect(await databases()).toContain('mysql');
    await expect(db.ping()).resolves.toBeUndefined();
  });

  test('a wrong admin password is a permanent DB_REFUSED that does not show it', async () => {
    const wrong = createMysql({ ...opts, password: 'wrong-Pa55word' });
    try {
      const err = await codeOf(wrong.exists(name('g')));
      expect(err).toMatchObject({ name: 'PermanentError', code: 'DB_REFUSED', permanent: true });
      expect(err.message).toMatch(/Access denied/);
      expect(err.message).not.toContain('wrong-Pa55word');
    } finally {
      await wrong.close();
    }
  });

  test('a closed port is a transient DB_UNAVAILABLE', async () => {
    const nowhere = createMysql({ ...opts, port: 1 });
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
    const slow = createMysql({ ...opts, port: (silent.address() as { port: number }).port, timeoutMs: 400 });
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
    await stopService(stack, 'mariadb');
    try {
      const err = await codeOf(db.create(n, 'StoppedPassw0rd'));
      expect(err).toMatchObject({ name: 'TransientError', permanent: false });
      expect(['DB_UNAVAILABLE', 'TIMEOUT']).toContain(err.code);
      expect(await codeOf(db.ping())).toMatchObject({ permanent: false });
    } finally {
      await startService(stack, 'mariadb');
    }
    await create(n, 'StoppedPassw0rd');
    expect((await mysqlAs(stack, n, 'StoppedPassw0rd', n, 'SELECT 1')).ok).toBe(true);
  }, 60_000);
});
