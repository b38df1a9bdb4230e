/**
 * The `MemberDatabase` adapter for PostgreSQL: pg over a small Pool, as an
 * admin role with CREATEDB and CREATEROLE (not a superuser), connected to the
 * `postgres` database.
 *
 * A member's role and database are both named after the account; the role
 * owns the database, and `CONNECT` (with every other right) is revoked from
 * `PUBLIC` on it, so no other member can connect. On PostgreSQL 15 a
 * CREATEROLE admin may create a database owned by another role only as a
 * member of it, so the admin first grants itself the member's role.
 *
 * Names are checked against the one name rule before any SQL is built, then
 * quoted with `escapeIdentifier` (DDL takes no parameters). Passwords reach
 * the server only as a SCRAM-SHA-256 verifier made here (an escaped literal),
 * which the server stores as it is: no statement, server log or error ever
 * holds one in clear, and error messages are redacted all the same.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { escapeIdentifier, escapeLiteral, Pool, type PoolClient } from 'pg';
import { PermanentError, withTimeout } from '../core/errors';
import { isName } from '../core/model/names';
import type { MemberDatabase } from '../core/ports';
import { classifyPgError } from './classify';

export interface PostgresqlOptions {
  host: string;
  port: number;
  /** The admin role ceod logs in as. */
  user: string;
  password: string;
  /** The database the admin connects to. Default `postgres`. */
  database?: string;
  /** Deadline of one operation (connecting included); also the statement and lock timeouts. */
  timeoutMs: number;
  /** Connections kept open at most. */
  poolSize: number;
}

/** Roles and databases that are the server's own: never created, changed or dropped for a member. */
const PROTECTED = new Set(['postgres', 'template0', 'template1', 'public', 'root']);

/** A SCRAM-SHA-256 verifier as PostgreSQL stores it (RFC 5802, 4096 iterations as the server's default). */
export function scramVerifier(password: string, salt = randomBytes(16), iterations = 4096): string {
  const salted = pbkdf2Sync(password.normalize('NFKC'), salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

export function createPostgresql(opts: PostgresqlOptions): MemberDatabase {
  const pool = new Pool({
    host: opts.host,
    port: opts.port,
    user: opts.user,
    password: opts.password,
    database: opts.database ?? 'postgres',
    max: opts.poolSize,
    connectionTimeoutMillis: opts.timeoutMs,
    idleTimeoutMillis: 30_000,
    statement_timeout: opts.timeoutMs,
    lock_timeout: opts.timeoutMs,
    query_timeout: opts.timeoutMs,
    application_name: 'ceod',
    keepAlive: true,
  });
  // An idle connection the server dropped (a restart): the pool discards it; the next operation connects anew.
  pool.on('error', () => undefined);

  function checkName(name: string): void {
    if (!isName(name)) throw new PermanentError('INVALID_PAYLOAD', `invalid database name ${JSON.stringify(String(name)).slice(0, 80)}`);
  }

  const isProtected = (name: string) => PROTECTED.has(name) || name.startsWith('pg_') || name === opts.user;

  /** Runs `work` on one pooled client within the deadline; every failure classified; a client that missed it is destroyed. */
  async function op<T>(what: string, work: (c: PoolClient) => Promise<T>): Promise<T> {
    let client: PoolClient | undefined;
    let late = false;
    let broken = false;
    try {
      return await withTimeout(what, opts.timeoutMs, async () => {
        const c = await pool.connect();
        if (late) {
          c.release(true);
          throw new Error('late');
        }
        client = c;
        try {
          return await work(c);
        } catch (e) {
          // A server error leaves the connection usable; anything else (a dropped socket) does not.
          broken = typeof (e as { severity?: unknown }).severity !== 'string';
          throw e;
        }
      });
    } catch (e) {
      late = true;
      if ((e as { code?: unknown }).code === 'TIMEOUT') broken = true;
      throw classifyPgError(e, what);
    } finally {
      client?.release(broken);
    }
  }

  async function inspect(c: PoolClient, name: string): Promise<{ role: boolean; database: boolean }> {
    const r = await c.query<{ role: boolean; database: boolean }>(
      'SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1) AS role, EXISTS (SELECT 1 FROM pg_database WHERE datname = $1) AS database',
      [name],
    );
    return r.rows[0]!;
  }

  const refuseProtected = (name: string) => {
    if (isProtected(name)) throw new PermanentError('DB_REFUSED', `${name} is a reserved PostgreSQL name`);
  };

  return {
    kind: 'postgresql',

    async exists(name) {
      checkName(name);
      if (isProtected(name)) return true;
      return op(`look up PostgreSQL database ${name}`, async (c) => {
        const found = await inspect(c, name);
        return found.role || found.database;
      });
    },

    async create(name, password) {
      checkName(name);
      refuseProtected(name);
      const id = escapeIdentifier(name);
      const secret = escapeLiteral(scramVerifier(password));
      await op(`create PostgreSQL database ${name}`, async (c) => {
        const found = await inspect(c, name);
        if (found.role) {
          // An earlier attempt made it (NOSUPERUSER etc.); only a superuser may name those attributes in an ALTER.
          await c.query(`ALTER ROLE ${id} WITH LOGIN PASSWORD ${secret}`);
        } else {
          await c.query(`CREATE ROLE ${id} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD ${secret}`);
        }
        // PostgreSQL 15: only a member of the owner role may create a database owned by it. Already a member: a notice, no error.
        await c.query(`GRANT ${id} TO CURRENT_USER`);
        if (found.database) await c.query(`ALTER DATABASE ${id} OWNER TO ${id}`);
        else await c.query(`CREATE DATABASE ${id} OWNER ${id}`);
        await c.query(`REVOKE ALL ON DATABASE ${id} FROM PUBLIC`);
      });
    },

    async setPassword(name, password) {
      checkName(name);
      refuseProtected(name);
      const id = escapeIdentifier(name);
      const secret = escapeLiteral(scramVerifier(password));
      await op(`set the password of PostgreSQL role ${name}`, async (c) => {
        if (!(await inspect(c, name)).role) throw new PermanentError('DB_NO_SUCH_DATABASE', `no PostgreSQL role ${name}`, 'uid');
        await c.query(`ALTER ROLE ${id} WITH PASSWORD ${secret}`);
      });
    },

    async drop(name) {
      checkName(name);
      // A member named like a system role never had a database of that name: nothing of theirs to drop.
      if (isProtected(name)) return false;
      const id = escapeIdentifier(name);
      return op(`drop PostgreSQL database ${name}`, async (c) => {
        const found = await inspect(c, name);
        // FORCE ends the member's open sessions (the admin may: it is a member of their role).
        if (found.database) await c.query(`DROP DATABASE IF EXISTS ${id} WITH (FORCE)`);
        if (found.role) await c.query(`DROP ROLE IF EXISTS ${id}`);
        return found.role || found.database;
      });
    },

    async ping() {
      await op('ping PostgreSQL', async (c) => {
        await c.query('SELECT 1');
      });
    },

    async close() {
      await pool.end().catch(() => undefined);
    },
  };
}
