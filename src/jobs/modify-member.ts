/**
 * Modify a member (docs/jobs.md#modify_member): replace the login shell (admin), replace the
 * forwarding addresses in `~/.forward` (fs). The first step always runs: it
 * also hands the fs step the uid and gid numbers, which the fs host cannot
 * read itself (it has no LDAP).
 */
import { z } from 'zod';
import { PermanentError } from '../core/errors';
import { absolutePathSchema, forwardingSchema, uidSchema } from '../core/model/fields';
import { assertShellAllowed } from '../core/rules/shells';
import { type JobType, type StepContext, step } from './step';

export const modifyMemberPayload = z
  .object({
    uid: uidSchema,
    login_shell: absolutePathSchema.optional(),
    forwarding_addresses: forwardingSchema.optional(),
  })
  .strict()
  .refine((p) => p.login_shell !== undefined || p.forwarding_addresses !== undefined, {
    path: ['login_shell'],
    message: 'give login_shell and/or forwarding_addresses',
  });

export type ModifyMemberPayload = z.infer<typeof modifyMemberPayload>;
type Ctx = StepContext<ModifyMemberPayload>;

type Ids = { uidNumber: number; gidNumber: number; previous_login_shell?: string };

async function replaceLoginShell(ctx: Ctx): Promise<{ result: Ids }> {
  const { uid, login_shell } = ctx.payload;
  const user = await ctx.adapters.ldap.getUser(uid);
  if (!user) throw new PermanentError('NOT_FOUND', `no member ${uid}`, 'uid');
  const ids = { uidNumber: user.uidNumber, gidNumber: user.gidNumber };
  if (login_shell === undefined || login_shell === user.loginShell) return { result: ids };
  // The config may have changed since the API checked the request against it.
  assertShellAllowed(login_shell, ctx.config.shells.allowed);
  // An expired account stays expired: the choice is kept for when it is renewed.
  const attr = user.loginShell === ctx.config.shells.expired ? 'previousLoginShell' : 'loginShell';
  await ctx.adapters.ldap.modifyUser(uid, [{ op: 'replace', attr, values: [login_shell] }]);
  return { result: { ...ids, previous_login_shell: user.loginShell } };
}

async function writeForward(ctx: Ctx) {
  const addresses = ctx.payload.forwarding_addresses;
  if (addresses === undefined) return;
  // The fs host has no LDAP: the first step hands it the numbers.
  const { uidNumber, gidNumber } = ctx.result(replaceLoginShellStep);
  await ctx.adapters.homeDirs.writeForward(ctx.config.members.home_root, ctx.payload.uid, uidNumber, gidNumber, addresses);
}

const replaceLoginShellStep = step<ModifyMemberPayload, Ids>({
  name: 'replace_login_shell',
  role: 'admin',
  title: (p) => (p.login_shell ? `set the login shell of ${p.uid} to ${p.login_shell}` : `look up ${p.uid}`),
  run: replaceLoginShell,
});

export const modifyMember: JobType<ModifyMemberPayload> = {
  name: 'modify_member',
  payload: modifyMemberPayload,
  lockKey: (p) => `member:${p.uid}`,
  steps: [
    replaceLoginShellStep,
    {
      name: 'replace_forwarding',
      role: 'fs',
      title: (p) => (p.forwarding_addresses ? `write ~${p.uid}/.forward` : `leave ~${p.uid}/.forward as it is`),
      run: writeForward,
    },
  ],
};
