/**
 * Create a member's database (docs/jobs.md#create_database): a MySQL or
 * PostgreSQL database and user named after the account, with a generated
 * password (db), and the info file in the account's home (fs).
 *
 * The first step is a read-only snapshot: whether the name was free before
 * the job. A retried create step cannot learn that by looking (after a crash
 * it sees its own work), and the undo must never drop a database that existed
 * before: it drops only what the snapshot says this job made.
 */
import { isCeoError, PermanentError } from '../core/errors';
import { generatePassword } from '../core/secret-box';
import { type DatabaseCtx, type DatabasePayload, databasePayload, endpointOf, type EndpointResult, KIND_NAMES, writeInfoStep } from './database-info';
import { type JobType, step } from './step';

const database = (ctx: DatabaseCtx) => ctx.adapters[ctx.payload.kind];

async function checkDatabase(ctx: DatabaseCtx) {
  const { uid, kind } = ctx.payload;
  if (await database(ctx).exists(uid)) {
    throw new PermanentError('DB_EXISTS', `${uid} already has a ${KIND_NAMES[kind]} database (or user); reset its password instead`, 'uid');
  }
  return { result: { existed: false } };
}

const checkStep = step<DatabasePayload, { existed: boolean }>({
  name: 'check_database',
  role: 'db',
  title: (p) => `check that ${p.uid} has no ${KIND_NAMES[p.kind]} database`,
  run: checkDatabase,
});

/** Whether this job may drop the database: only if the snapshot saw the name free. */
const madeByThisJob = (ctx: DatabaseCtx) => ctx.resultIfAny(checkStep)?.existed === false;

async function createDatabase(ctx: DatabaseCtx) {
  const db = database(ctx);
  const password = generatePassword();
  // Saved (sealed) before the user exists, so a crash right after cannot leave a password nobody knows.
  await ctx.saveSecret('password', password);
  try {
    await db.create(ctx.payload.uid, password);
  } catch (err) {
    // Refused for good halfway (say, after CREATE DATABASE): this step is not undone
    // when refused on its first attempt, so it takes back what it made itself.
    if (isCeoError(err) && err.permanent && madeByThisJob(ctx)) await db.drop(ctx.payload.uid);
    throw err;
  }
  return { result: { created: true, ...endpointOf(ctx) } };
}

async function dropDatabase(ctx: DatabaseCtx) {
  if (madeByThisJob(ctx)) await database(ctx).drop(ctx.payload.uid);
}

const createStep = step<DatabasePayload, EndpointResult & { created: boolean }>({
  name: 'create_database',
  role: 'db',
  title: (p) => `create ${KIND_NAMES[p.kind]} database and user ${p.uid}`,
  run: createDatabase,
  undo: dropDatabase,
});

export const createDatabaseJob: JobType<DatabasePayload> = {
  name: 'create_database',
  payload: databasePayload,
  lockKey: (p) => `member:${p.uid}`,
  steps: [checkStep, createStep, writeInfoStep(createStep)],
};
