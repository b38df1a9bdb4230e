/**
 * The `MemberDatabase` adapter for MySQL (MariaDB): mysql2's promise API over
 * a small pool, as an admin account that may create and drop databases and
 * users and grant on them.
 *
 * A member's database and user are both named after the account; the user is
 * `'<name>'@'<accountHost>'` (default `'%'`: members connect from anywhere).
 * Names are checked against the one name rule before any SQL is built, and
 * then quoted by mysql2 (`??` → `escapeId`, `?` → an escaped literal). In a
 * GRANT, `_` and `%` in a database name are wildcards (`test_1` would also
 * match `testx1`), so there the name's `_` is escaped as `\_`.
 *
 * Passwords reach the server only as their mysql_native_password hash
 * (`IDENTIFIED BY PASSWORD '*…'`), so no statement, log or error ever holds
 * one in clear; error messages are redacted all the same (./classify.ts).
 */
import { createHash } from 'node:crypto';
import { createPool, type PoolConnection, type RowDataPacket } from 'mysql2/promise';
import { PermanentError, withTimeout } from '../core/errors';
import { isName } from '../core/model/names';
import type { MemberDatabase } from '../core/ports';
import { classifyMysqlError } from './classify';

export interface MysqlOptions {
  host: string;
  port: number;
  /** The admin account ceod logs in as. */
  user: string;
  password: string;
  /** Deadline of one operation (connecting included); also the server's lock wait. */
  timeoutMs: number;
  /** Connections kept open at most. */
  poolSize: number;
  /** The host part of members' accounts. Default `%`. */
  accountHost?: string;
}

/** Databases and accounts that are the server's or ceod's own: never created, changed or dropped for a member. */
const PROTECTED = new Set(['mysql', 'sys', 'information_schema', 'performance_schema', 'root', 'mariadb.sys', 'test']);

/** MariaDB's mysql_native_password hash: `*` + hex(SHA1(SHA1(password))). */
export function nativePasswordHash(password: string): string {
  const sha1 = (b: Buffer | string) => createHash('sha1').update(b).digest();
  return `*${sha1(sha1(password)).toString('hex').toUpperCase()}`;
}

/** A database name as a GRANT pattern that matches only itself: `_` and `%` escaped. */
export function grantPattern(name: string): string {
  return name.replace(/[\\_%]/g, '\\$&');
}

export function createMysql(opts: MysqlOptions): MemberDatabase {
  const accountHost = opts.accountHost ?? '%';
  const pool = createPool({
    host: opts.host,
    port: opts.port,
    user: opts.user,
    password: opts.password,
    connectTimeout: opts.timeoutMs,
    connectionLimit: opts.poolSize,
    maxIdle: opts.poolSize,
    idleTimeout: 60_000,
    waitForConnections: true,
    queueLimit: 0,
    enableKeepAlive: true,
    multipleStatements: false,
  });
  const lockWaitS = Math.max(1, Math.ceil(opts.timeoutMs / 1000));
  /** Connections whose session has our lock waits set. */
  const prepared = new WeakSet<object>();

  function checkName(name: string): void {
    if (!isName(name)) throw new PermanentError('INVALID_PAYLOAD', `invalid database name ${JSON.stringify(String(name)).slice(0, 80)}`);
  }

  const isProtected = (name: string) => PROTECTED.has(name) || name === opts.user;

  /**
   * Runs `work` on one pooled connection within the deadline; every failure
   * classified. A connection that missed the deadline is destroyed, never
   * handed to the next operation mid-statement.
   */
  async function op<T>(what: string, work: (c: PoolConnection) => Promise<T>): Promise<T> {
    let conn: PoolConnection | undefined;
    let late = false;
    try {
      return await withTimeout(what, opts.timeoutMs, async () => {
        const c = await pool.getConnection();
        if (late) {
          c.destroy();
          throw new Error('late');
        }
        conn = c;
        if (!prepared.has(c.connection)) {
          // A DROP DATABASE behind a member's open transaction must not wait a year (the default).
          await c.query('SET SESSION lock_wait_timeout = ?, innodb_lock_wait_timeout = ?', [lockWaitS, lockWaitS]);
          prepared.add(c.connection);
        }
        return await work(c);
      });
    } catch (e) {
      late = true;
      if (conn && (e as { code?: unknown }).code === 'TIMEOUT') {
        conn.destroy();
        conn = undefined;
      }
      throw classifyMysqlError(e, what);
    } finally {
      conn?.release();
    }
  }

  async function inspect(c: PoolConnection, name: string): Promise<{ database: boolean; user: boolean; account: boolean }> {
    const [rows] = await c.query<RowDataPacket[]>(
      'SELECT (SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?) AS db, ' +
        '(SELECT COUNT(*) FROM mysql.user WHERE User = ?) AS users, ' +
        '(SELECT COUNT(*) FROM mysql.user WHERE User = ? AND Host = ?) AS account',
      [name, name, name, accountHost],
    );
    const r = rows[0]!;
    return { database: Number(r.db) > 0, user: Number(r.users) > 0, account: Number(r.account) > 0 };
  }

  return {
    kind: 'mysql',

    async exists(name) {
      checkName(name);
      if (isProtected(name)) return true;
      return op(`look up MySQL database ${name}`, async (c) => {
        const found = await inspect(c, name);
        return found.database || found.user;
      });
    },

    async create(name, password) {
      checkName(name);
      if (isProtected(name)) throw new PermanentError('DB_REFUSED', `${name} is a reserved MySQL name`);
      const hash = nativePasswordHash(password);
      await op(`create MySQL database ${name}`, async (c) => {
        await c.query('CREATE DATABASE IF NOT EXISTS ??', [name]);
        await c.query('CREATE USER IF NOT EXISTS ?@? IDENTIFIED BY PASSWORD ?', [name, accountHost, hash]);
        // Also when the user was there (a retry): the password is the one saved for this attempt.
        await c.query('ALTER USER ?@? IDENTIFIED BY PASSWORD ?', [name, accountHost, hash]);
        await c.query('GRANT ALL PRIVILEGES ON ??.* TO ?@?', [grantPattern(name), name, accountHost]);
      });
    },

    async setPassword(name, password) {
      checkName(name);
      if (isProtected(name)) throw new PermanentError('DB_REFUSED', `${name} is a reserved MySQL name`);
      const hash = nativePasswordHash(password);
      await op(`set the password of MySQL user ${name}`, async (c) => {
        if (!(await inspect(c, name)).account) throw new PermanentError('DB_NO_SUCH_DATABASE', `no MySQL user ${name}`, 'uid');
        await c.query('ALTER USER ?@? IDENTIFIED BY PASSWORD ?', [name, accountHost, hash]);
      });
    },

    async drop(name) {
      checkName(name);
      // A member named like a system database never had a database of that name: nothing of theirs to drop.
      if (isProtected(name)) return false;
      return op(`drop MySQL database ${name}`, async (c) => {
        const found = await inspect(c, name);
        if (found.database) await c.query('DROP DATABASE IF EXISTS ??', [name]);
        if (found.account) await c.query('DROP USER IF EXISTS ?@?', [name, accountHost]);
        return found.database || found.account;
      });
    },

    async ping() {
      await op('ping MySQL', async (c) => {
        await c.query('SELECT 1');
      });
    },

    async close() {
      await pool.end().catch(() => undefined);
    },
  };
}
