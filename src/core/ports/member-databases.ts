/**
 * The member-database port: one MySQL (MariaDB) and one PostgreSQL database per
 * account, each with a user of the same name (adapters: `src/mysql`,
 * `src/postgresql`). docs/jobs.md#create_database says how jobs use it.
 *
 * Every name is an account's name by the one name rule (src/core/model/names.ts):
 * an adapter refuses anything else (PermanentError INVALID_PAYLOAD) before it
 * reaches SQL. Passwords never appear in an error message or a log line.
 */

/** The two database servers the db role speaks to. */
export const DATABASE_KINDS = ['mysql', 'postgresql'] as const;
export type DatabaseKind = (typeof DATABASE_KINDS)[number];

export interface MemberDatabase {
  readonly kind: DatabaseKind;
  /** Whether a database or a user named `name` exists (either one takes the name). */
  exists(name: string): Promise<boolean>;
  /**
   * Ensures the database `name` and the user `name` exist, the user with
   * `password` and every privilege on that database and nothing else (on
   * PostgreSQL the user owns the database, and `CONNECT` is revoked from
   * `PUBLIC`). Run again, it changes nothing but the password.
   */
  create(name: string, password: string): Promise<void>;
  /** Sets the user's password. No such user: PermanentError DB_NO_SUCH_DATABASE. */
  setPassword(name: string, password: string): Promise<void>;
  /** Drops the database and the user if present; false if neither was there. */
  drop(name: string): Promise<boolean>;
  /** Cheap round trip with the admin account, for start-up and health checks. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** Where members connect to their database: what the info file tells them. */
export interface DatabaseEndpoint {
  hostname: string;
  port: number;
}
