/**
 * Renew many members at once (docs/jobs.md#renew_members): a bulk job. The
 * API resolves who (a list of uids, or every lapsed or expired account) and
 * enqueues their uids with the terms; one admin step reads the entries a chunk
 * at a time (one search per chunk) and gives each member, in one modify, the
 * terms they lack and, if the account is on the expired shell, its previous
 * shell back (as `renew_member` does). Each member's outcome is in the result.
 *
 * The step goes through the engine's `forEachItem`: one member refused is that
 * member's outcome; a server outage retries the step as a whole, which is
 * harmless because each member's work is an ensure (terms already held and a
 * shell already restored change nothing). There is no undo, as for
 * `expire_members`: a job stopped half-way has renewed some members for good,
 * and is submitted again to finish.
 */
import { z } from 'zod';
import { oneKindOfTerms, termsSchema, uidSchema } from '../core/model/fields';
import type { UserChange, UserEntry } from '../core/model/user';
import { assertNoTermClash, renewalKind } from '../core/rules/renewal';
import { sortTerms } from '../core/rules/terms';
import { type JobType, type StepContext, step } from './step';

export const renewMembersPayload = z
  .object({
    uids: z.array(uidSchema).max(100_000),
    terms: termsSchema.optional(),
    non_member_terms: termsSchema.optional(),
  })
  .strict()
  .superRefine(oneKindOfTerms);

export type RenewMembersPayload = z.infer<typeof renewMembersPayload>;
type Ctx = StepContext<RenewMembersPayload>;

/** Per member: `renewed` (terms added or shell restored), `unchanged` (nothing to do: held already, or done by an earlier attempt), `gone`, or why not. */
export type RenewOutcome = 'renewed' | 'unchanged' | 'gone' | `failed: ${string}`;

type RenewResult = {
  outcomes: Record<string, RenewOutcome>;
  /** The shell given back to each member who was on the expired shell. */
  shells_restored: Record<string, string>;
  renewed_count: number;
  unchanged_count: number;
  gone_count: number;
  failed_count: number;
};

/** Entries read per search: the adapter's filter takes this many names. */
const CHUNK = 200;

/** The changes that renew `user`: the terms they lack (the whole list, sorted), and their shell back if expired. */
export function renewalChanges(
  user: UserEntry,
  p: Pick<RenewMembersPayload, 'terms' | 'non_member_terms'>,
  shells: { expired: string; allowed: readonly string[]; default: string },
): { changes: UserChange[]; shell?: string } {
  assertNoTermClash(user.uid, p, user);
  const kind = renewalKind(p);
  const held = kind.attr === 'term' ? user.terms : user.nonMemberTerms;
  const added = kind.terms.filter((t) => !held.includes(t));
  const changes: UserChange[] = [];
  if (added.length > 0) changes.push({ op: 'replace', attr: kind.attr, values: sortTerms([...held, ...added]) });
  if (user.loginShell !== shells.expired) return { changes };
  const shell = user.previousLoginShell && shells.allowed.includes(user.previousLoginShell) ? user.previousLoginShell : shells.default;
  changes.push({ op: 'replace', attr: 'loginShell', values: [shell] }, { op: 'replace', attr: 'previousLoginShell', values: [] });
  return { changes, shell };
}

async function renewAll(ctx: Ctx): Promise<{ result: RenewResult; warning?: string }> {
  const { ldap } = ctx.adapters;
  const { uids } = ctx.payload;
  const result: RenewResult = { outcomes: {}, shells_restored: {}, renewed_count: 0, unchanged_count: 0, gone_count: 0, failed_count: 0 };
  for (let i = 0; i < uids.length; i += CHUNK) {
    const chunk = uids.slice(i, i + CHUNK);
    // One search for the chunk, then one modify per member that needs one.
    const users = new Map((await ldap.getUsers(chunk)).map((u) => [u.uid, u]));
    const done = await ctx.forEachItem(chunk, async (uid): Promise<{ outcome: RenewOutcome; shell?: string }> => {
      const user = users.get(uid);
      if (!user) return { outcome: 'gone' };
      const { changes, shell } = renewalChanges(user, ctx.payload, ctx.config.shells);
      if (changes.length === 0) return { outcome: 'unchanged' };
      await ldap.modifyUser(uid, changes);
      return { outcome: 'renewed', ...(shell ? { shell } : {}) };
    });
    done.forEach((d, j) => {
      const uid = chunk[j]!;
      if (!d.ok) {
        result.outcomes[uid] = `failed: ${d.error.code}: ${d.error.message}`;
        result.failed_count += 1;
        return;
      }
      result.outcomes[uid] = d.value.outcome;
      if (d.value.shell) result.shells_restored[uid] = d.value.shell;
      result[`${d.value.outcome as 'renewed' | 'unchanged' | 'gone'}_count`] += 1;
    });
  }
  return { result, ...(result.failed_count ? { warning: `${result.failed_count} member(s) could not be renewed; see outcomes` } : {}) };
}

export const renewMembers: JobType<RenewMembersPayload> = {
  name: 'renew_members',
  payload: renewMembersPayload,
  lockKey: () => 'renew-members',
  steps: [
    step<RenewMembersPayload, RenewResult>({
      name: 'renew',
      role: 'admin',
      title: (p) => `renew ${p.uids.length} member(s) for ${renewalKind(p).terms.join(', ')}`,
      run: renewAll,
    }),
  ],
};
