/**
 * The db steps that drop an account's MySQL and PostgreSQL databases and users
 * when the account goes: shared by delete_member (a member) and delete_group
 * (a club's account), docs/jobs.md#delete_member and docs/jobs.md#delete_group.
 *
 * Each is delete-if-present (the adapter's `drop` answers whether anything was
 * there), so a re-run after a crash, or a job submitted again to finish a
 * half-deleted account, drops what is left and nothing else. No undo: a
 * dropped database cannot be given back.
 */
import { DATABASE_KINDS, type DatabaseKind } from '../core/ports';
import { KIND_NAMES } from './database-info';
import { type StepDef, step } from './step';

/** `drop_mysql_database` and `drop_postgresql_database` for the account `accountOf(payload)`; results `mysql_dropped`, `postgresql_dropped`. */
export function dropDatabaseSteps<P>(accountOf: (payload: P) => string): StepDef<P, Record<string, boolean>>[] {
  return DATABASE_KINDS.map((kind: DatabaseKind) =>
    step<P, Record<string, boolean>>({
      name: `drop_${kind}_database`,
      role: 'db',
      title: (p) => `drop the ${KIND_NAMES[kind]} database and user ${accountOf(p)}`,
      run: async (ctx) => ({ result: { [`${kind}_dropped`]: await ctx.adapters[kind].drop(accountOf(ctx.payload)) } }),
    }),
  );
}
