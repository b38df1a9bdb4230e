/**
 * What the database jobs share (docs/jobs.md#create_database): the payload,
 * the info file members' scripts parse, and the fs step that writes it.
 *
 * The fs host has no LDAP, so the payload carries the account's numbers (the
 * API read them when it checked the account; the job's lock `member:<uid>`
 * keeps the account as it was while the job runs). The db step hands the fs
 * step where members connect (from the db host's config); the password goes
 * from the db step to the fs step only sealed, as the job's secret.
 */
import { z } from 'zod';
import { PermanentError } from '../core/errors';
import { uidSchema } from '../core/model/fields';
import { DATABASE_KINDS, type DatabaseEndpoint, type DatabaseKind } from '../core/ports';
import { type StepContext, type StepDef, step } from './step';

export const databasePayload = z
  .object({
    uid: uidSchema,
    kind: z.enum(DATABASE_KINDS, { error: 'must be mysql or postgresql' }),
    /** Which home root the account's home is under: `[members]`'s or `[clubs]`'s. */
    account: z.enum(['member', 'club']),
    uid_number: z.number().int().positive(),
    gid_number: z.number().int().positive(),
  })
  .strict();

export type DatabasePayload = z.infer<typeof databasePayload>;
export type DatabaseCtx = StepContext<DatabasePayload>;

/** What the db step hands the fs step: where members connect. */
export type EndpointResult = { hostname: string; port: number };

export const KIND_NAMES: Record<DatabaseKind, string> = { mysql: 'MySQL', postgresql: 'PostgreSQL' };

/** `~/ceo-mysql-info`, `~/ceo-postgresql-info`. */
export const infoFileName = (kind: DatabaseKind): string => `ceo-${kind}-info`;

const DEFAULT_PORTS: Record<DatabaseKind, number> = { mysql: 3306, postgresql: 5432 };

/**
 * The info file, one `Key: value` per line, as members' scripts parse it: the
 * password is the last word of the line that starts with `Password` (generated
 * passwords hold no spaces).
 */
export function databaseInfoText(kind: DatabaseKind, uid: string, password: string, at: DatabaseEndpoint): string {
  if (/\s/.test(password)) throw new PermanentError('INVALID_PAYLOAD', 'a database password may not contain white space');
  const port = at.port === DEFAULT_PORTS[kind] ? '' : kind === 'mysql' ? ` -P ${at.port}` : ` -p ${at.port}`;
  const connect = kind === 'mysql' ? `mysql ${uid} -h ${at.hostname}${port} -u ${uid} -p` : `psql -h ${at.hostname}${port} -U ${uid} ${uid}`;
  return [
    `${KIND_NAMES[kind]} Database Information for ${uid}`,
    '',
    `Database: ${uid}`,
    `Username: ${uid}`,
    `Password: ${password}`,
    `Hostname: ${at.hostname}`,
    `Port: ${at.port}`,
    '',
    `Connect with: ${connect}`,
    '',
  ].join('\n');
}

/** Where members connect to the server of `kind`, from the db host's config. */
export function endpointOf(ctx: DatabaseCtx): DatabaseEndpoint {
  const server = ctx.config[ctx.payload.kind];
  if (!server) throw new PermanentError('DB_REFUSED', `this host has no [${ctx.payload.kind}] section`);
  return { hostname: server.hostname, port: server.port };
}

/** The fs step of both database jobs: the info file in the account's home, from the db step's endpoint and the sealed password. */
export function writeInfoStep(dbStep: StepDef<DatabasePayload, EndpointResult>): StepDef<DatabasePayload> {
  return step<DatabasePayload>({
    name: 'write_database_info',
    role: 'fs',
    title: (p) => `write ~${p.uid}/${infoFileName(p.kind)}`,
    run: async (ctx) => {
      const p = ctx.payload;
      const password = await ctx.secret('password');
      // The db step saved it before it set it: a job without one is a bug, not the caller's fault.
      if (password === null) throw new PermanentError('MISSING_STEP_RESULT', `${ctx.jobId}: the database password is missing`);
      const root = p.account === 'club' ? ctx.config.clubs.home_root : ctx.config.members.home_root;
      const text = databaseInfoText(p.kind, p.uid, password, ctx.result(dbStep));
      await ctx.adapters.homeDirs.writePrivateFile(root, p.uid, p.uid_number, p.gid_number, infoFileName(p.kind), text);
    },
  });
}
