/**
 * Reset a password (docs/jobs.md#reset_password): a new random password that must be changed at
 * the next login. It is sealed for the requester before kadmin sets it, so a
 * crash in between never leaves a password nobody knows.
 */
import { z } from 'zod';
import { uidSchema } from '../core/model/fields';
import { generatePassword } from '../core/secret-box';
import type { JobType, StepContext } from './step';

export const resetPasswordPayload = z.object({ uid: uidSchema }).strict();
export type ResetPasswordPayload = z.infer<typeof resetPasswordPayload>;

async function setPassword(ctx: StepContext<ResetPasswordPayload>) {
  const password = generatePassword();
  await ctx.saveSecret('password', password);
  await ctx.adapters.kadmin.setPassword(ctx.payload.uid, password, { needChange: true });
  // Whoever held a session as this user keeps it no longer.
  await ctx.revokeSessions([ctx.payload.uid]);
}

export const resetPassword: JobType<ResetPasswordPayload> = {
  name: 'reset_password',
  payload: resetPasswordPayload,
  lockKey: (p) => `member:${p.uid}`,
  steps: [{ name: 'set_password', role: 'admin', title: (p) => `set a new password for ${p.uid}`, run: setPassword }],
};
