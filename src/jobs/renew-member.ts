/**
 * Renew a member (docs/jobs.md#renew_member): add terms (or non-member terms), then restore the
 * shell if the account had expired. Both steps are ensures: terms already
 * held are no error, and an account not on the expired shell is left alone.
 */
import { z } from 'zod';
import { PermanentError } from '../core/errors';
import { oneKindOfTerms, termsSchema, uidSchema } from '../core/model/fields';
import { assertNoTermClash, renewalKind } from '../core/rules/renewal';
import { sortTerms } from '../core/rules/terms';
import { type JobType, type StepContext, step } from './step';

export const renewMemberPayload = z
  .object({
    uid: uidSchema,
    terms: termsSchema.optional(),
    non_member_terms: termsSchema.optional(),
  })
  .strict()
  .superRefine(oneKindOfTerms);

export type RenewMemberPayload = z.infer<typeof renewMemberPayload>;
type Ctx = StepContext<RenewMemberPayload>;

async function getUser(ctx: Ctx) {
  const user = await ctx.adapters.ldap.getUser(ctx.payload.uid);
  if (!user) throw new PermanentError('NOT_FOUND', `no member ${ctx.payload.uid}`, 'uid');
  return user;
}

async function addTerms(ctx: Ctx): Promise<{ result: { added_terms: string[] } }> {
  const user = await getUser(ctx);
  const kind = renewalKind(ctx.payload);
  assertNoTermClash(ctx.payload.uid, ctx.payload, user);
  const held = kind.attr === 'term' ? user.terms : user.nonMemberTerms;
  const added = kind.terms.filter((t) => !held.includes(t));
  // Stored sorted by date: one replace of the whole, sorted list.
  if (added.length > 0) await ctx.adapters.ldap.modifyUser(ctx.payload.uid, [{ op: 'replace', attr: kind.attr, values: sortTerms([...held, ...added]) }]);
  return { result: { added_terms: sortTerms(added) } };
}

async function removeAddedTerms(ctx: Ctx) {
  const added = ctx.resultIfAny(addTermsStep)?.added_terms ?? [];
  if (added.length === 0) return;
  await ctx.adapters.ldap.modifyUser(ctx.payload.uid, [{ op: 'delete', attr: renewalKind(ctx.payload).attr, values: added }]);
}

async function restoreShell(ctx: Ctx) {
  const user = await getUser(ctx);
  const { expired, allowed, default: fallback } = ctx.config.shells;
  if (user.loginShell !== expired) return { result: { shell_restored: false } };
  const previous = user.previousLoginShell && allowed.includes(user.previousLoginShell) ? user.previousLoginShell : fallback;
  await ctx.adapters.ldap.modifyUser(ctx.payload.uid, [
    { op: 'replace', attr: 'loginShell', values: [previous] },
    { op: 'replace', attr: 'previousLoginShell', values: [] },
  ]);
  return { result: { shell_restored: true, login_shell: previous } };
}

const addTermsStep = step<RenewMemberPayload, { added_terms: string[] }>({
  name: 'add_terms',
  role: 'admin',
  title: (p) => `add ${renewalKind(p).terms.join(', ')} to ${p.uid}`,
  run: addTerms,
  undo: removeAddedTerms,
});

export const renewMember: JobType<RenewMemberPayload> = {
  name: 'renew_member',
  payload: renewMemberPayload,
  lockKey: (p) => `member:${p.uid}`,
  steps: [
    addTermsStep,
    { name: 'restore_shell', role: 'admin', title: (p) => `restore the login shell of ${p.uid} if it had expired`, run: restoreShell },
  ],
};
