/**
 * Reset a member's database password (docs/jobs.md#reset_database_password):
 * a new generated password for the user (db), and the info file rewritten
 * (fs). Nothing is undone: the old password is gone once the new one is set.
 */
import { generatePassword } from '../core/secret-box';
import { type DatabaseCtx, type DatabasePayload, databasePayload, endpointOf, type EndpointResult, KIND_NAMES, writeInfoStep } from './database-info';
import { type JobType, step } from './step';

async function setDatabasePassword(ctx: DatabaseCtx) {
  const password = generatePassword();
  // Sealed and saved before it is set; a retry makes and saves a new one.
  await ctx.saveSecret('password', password);
  await ctx.adapters[ctx.payload.kind].setPassword(ctx.payload.uid, password);
  return { result: endpointOf(ctx) };
}

const setStep = step<DatabasePayload, EndpointResult>({
  name: 'set_database_password',
  role: 'db',
  title: (p) => `set a new password for ${KIND_NAMES[p.kind]} user ${p.uid}`,
  run: setDatabasePassword,
});

export const resetDatabasePassword: JobType<DatabasePayload> = {
  name: 'reset_database_password',
  payload: databasePayload,
  lockKey: (p) => `member:${p.uid}`,
  steps: [setStep, writeInfoStep(setStep)],
};
