/**
 * Renew a member (SPEC §4): add terms (or non-member terms), then restore the
 * shell if the account had expired. Both steps are ensures: terms already
 * held are no error, and an account not on the expired shell is left alone.
 */
import { z } from 'zod';
import { PermanentError } from '../errors';
import { sortTerms } from '../terms';
import { termsSchema, uidSchema, oneKindOfTerms } from './fields';
import type { JobType, StepContext } from './types';

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

/** Which attribute the payload adds to, and which one must not hold the same terms. */
export function renewalKind(p: Pick<RenewMemberPayload, 'terms' | 'non_member_terms'>) {
  return p.terms
    ? { attr: 'term' as const, field: 'terms' as const, terms: p.terms, other: 'nonMemberTerms' as const }
    : { attr: 'nonMemberTerm' as const, field: 'non_member_terms' as const, terms: p.non_member_terms ?? [], other: 'terms' as const };
}

async function getUser(ctx: Ctx) {
  const user = await ctx.adapters.ldap.getUser(ctx.payload.uid);
  if (!user) throw new PermanentError('LDAP_NO_SUCH_OBJECT', `no member ${ctx.payload.uid}`, 'uid');
  return user;
}

async function addTerms(ctx: Ctx) {
  const user = await getUser(ctx);
  const kind = renewalKind(ctx.payload);
  const clash = kind.terms.find((t) => user[kind.other].includes(t));
  if (clash) throw new PermanentError('INVALID_PAYLOAD', `${kind.field}: ${ctx.payload.uid} already holds ${clash} as the other kind of term`, kind.field);
  const held = kind.attr === 'term' ? user.terms : user.nonMemberTerms;
  const added = kind.terms.filter((t) => !held.includes(t));
  // Stored sorted by date: one replace of the whole, sorted list.
  if (added.length > 0) await ctx.adapters.ldap.modifyUser(ctx.payload.uid, [{ op: 'replace', attr: kind.attr, values: sortTerms([...held, ...added]) }]);
  return { result: { added_terms: sortTerms(added) } };
}

async function removeAddedTerms(ctx: Ctx) {
  const added = ctx.results.add_terms?.added_terms;
  if (!Array.isArray(added) || added.length === 0) return;
  await ctx.adapters.ldap.modifyUser(ctx.payload.uid, [{ op: 'delete', attr: renewalKind(ctx.payload).attr, values: added as string[] }]);
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

export const renewMember: JobType<RenewMemberPayload> = {
  name: 'renew_member',
  payload: renewMemberPayload,
  lockKey: (p) => `member:${p.uid}`,
  steps: [
    { name: 'add_terms', role: 'admin', title: (p) => `add ${renewalKind(p).terms.join(', ')} to ${p.uid}`, run: addTerms, undo: removeAddedTerms },
    { name: 'restore_shell', role: 'admin', title: (p) => `restore the login shell of ${p.uid} if it had expired`, run: restoreShell },
  ],
};
