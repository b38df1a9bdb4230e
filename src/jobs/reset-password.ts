/**
 * Reset a password (SPEC §4): a new random password that must be changed at
 * the next login. It is sealed for the requester before kadmin sets it, so a
 * crash in between never leaves a password nobody knows.
 */
import { z } from 'zod';
import { generatePassword } from '../secret-box';
import { uidSchema } from './fields';
import type { JobType, StepContext } from './types';

export const resetPasswordPayload = z.object({ uid: uidSchema }).strict();
export type ResetPasswordPayload = z.infer<typeof resetPasswordPayload>;

async function setPassword(ctx: StepContext<ResetPasswordPayload>) {
  const password = generatePassword();
  await ctx.saveSecret('password', password);
  await ctx.adapters.kadmin.setPassword(ctx.payload.uid, password, { needChange: true });
}

export const resetPassword: JobType<ResetPasswordPayload> = {
  name: 'reset_password',
  payload: resetPasswordPayload,
  lockKey: (p) => `member:${p.uid}`,
  steps: [{ name: 'set_password', role: 'admin', title: (p) => `set a new password for ${p.uid}`, run: setPassword }],
};
