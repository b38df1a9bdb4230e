/**
 * Modify a member (SPEC §4): replace the login shell (admin), replace the
 * forwarding addresses in `~/.forward` (fs). The first step always runs: it
 * also hands the fs step the uid and gid numbers, which the fs host cannot
 * read itself (it has no LDAP).
 */
import { z } from 'zod';
import { PermanentError } from '../errors';
import { forwardingSchema, uidSchema } from './fields';
import type { JobType, StepContext } from './types';

export const modifyMemberPayload = z
  .object({
    uid: uidSchema,
    login_shell: z.string({ error: 'must be a string' }).startsWith('/', 'must be an absolute path').max(256).optional(),
    forwarding_addresses: forwardingSchema.optional(),
  })
  .strict()
  .refine((p) => p.login_shell !== undefined || p.forwarding_addresses !== undefined, {
    path: ['login_shell'],
    message: 'give login_shell and/or forwarding_addresses',
  });

export type ModifyMemberPayload = z.infer<typeof modifyMemberPayload>;
type Ctx = StepContext<ModifyMemberPayload>;

async function replaceLoginShell(ctx: Ctx) {
  const { uid, login_shell } = ctx.payload;
  const user = await ctx.adapters.ldap.getUser(uid);
  if (!user) throw new PermanentError('LDAP_NO_SUCH_OBJECT', `no member ${uid}`, 'uid');
  const ids = { uidNumber: user.uidNumber, gidNumber: user.gidNumber };
  if (login_shell === undefined || login_shell === user.loginShell) return { result: ids };
  if (!ctx.config.shells.allowed.includes(login_shell)) {
    throw new PermanentError('INVALID_PAYLOAD', `login_shell: ${login_shell} is not one of ${ctx.config.shells.allowed.join(', ')}`, 'login_shell');
  }
  // An expired account stays expired: the choice is kept for when it is renewed.
  const attr = user.loginShell === ctx.config.shells.expired ? 'previousLoginShell' : 'loginShell';
  await ctx.adapters.ldap.modifyUser(uid, [{ op: 'replace', attr, values: [login_shell] }]);
  return { result: { ...ids, previous_login_shell: user.loginShell } };
}

async function writeForward(ctx: Ctx) {
  const addresses = ctx.payload.forwarding_addresses;
  if (addresses === undefined) return;
  const { uidNumber, gidNumber } = ctx.results.replace_login_shell ?? {};
  if (typeof uidNumber !== 'number' || typeof gidNumber !== 'number') throw new PermanentError('INVALID_PAYLOAD', 'uid number of replace_login_shell is missing');
  await ctx.adapters.homeDirs.writeForward(ctx.config.members.home_root, ctx.payload.uid, uidNumber, gidNumber, addresses);
}

export const modifyMember: JobType<ModifyMemberPayload> = {
  name: 'modify_member',
  payload: modifyMemberPayload,
  lockKey: (p) => `member:${p.uid}`,
  steps: [
    {
      name: 'replace_login_shell',
      role: 'admin',
      title: (p) => (p.login_shell ? `set the login shell of ${p.uid} to ${p.login_shell}` : `look up ${p.uid}`),
      run: replaceLoginShell,
    },
    {
      name: 'replace_forwarding',
      role: 'fs',
      title: (p) => (p.forwarding_addresses ? `write ~${p.uid}/.forward` : `leave ~${p.uid}/.forward as it is`),
      run: writeForward,
    },
  ],
};
