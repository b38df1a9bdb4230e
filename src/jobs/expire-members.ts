/**
 * Expire members (docs/terms.md#expiry, docs/jobs.md#expire_members): a bulk
 * job. The API selects who expires (the same rule as its dry run, see
 * src/core/rules/expiry.ts) and enqueues their uids with the threshold term;
 * the admin step re-checks each one before setting the expired shell, so a
 * member renewed meanwhile is never expired. The previous shell is kept in
 * `previousLoginShell` for renewal to restore. The expiry mail is best effort.
 * Each member's outcome is in the job result.
 *
 * Both steps go through the engine's `forEachItem`: one member refused is that
 * member's outcome; a server outage retries the step as a whole, which is
 * harmless because each member's work is an ensure.
 */
import { z } from 'zod';
import { termSchema, uidSchema } from '../core/model/fields';
import { memberAddress } from '../core/model/names';
import { isExpired, latestTerm } from '../core/rules/expiry';
import { expiryNotice } from './mail-templates';
import { type JobType, type StepContext, step } from './step';

export const expireMembersPayload = z
  .object({
    /** Accounts whose latest term is older than this are expired. */
    threshold: termSchema,
    /** The term the notice names as not renewed. */
    current_term: termSchema,
    uids: z.array(uidSchema).max(100_000),
  })
  .strict();

export type ExpireMembersPayload = z.infer<typeof expireMembersPayload>;
type Ctx = StepContext<ExpireMembersPayload>;

/** Per member: `expired`, or why not. */
export type ExpiryOutcome = 'expired' | 'renewed' | 'already_expired' | 'gone' | `failed: ${string}`;

type Notice = { cn: string; last_term?: string };
type ShellsResult = {
  outcomes: Record<string, ExpiryOutcome>;
  notices: Record<string, Notice>;
  expired_count: number;
  skipped_count: number;
  failed_count: number;
};

/** Sets the expired shell of one member, if they are still to be expired; says what it found. */
async function expireOne(ctx: Ctx, uid: string): Promise<{ outcome: ExpiryOutcome; notice?: Notice }> {
  const { ldap } = ctx.adapters;
  const expired = ctx.config.shells.expired;
  const user = await ldap.getUser(uid);
  if (!user) return { outcome: 'gone' };
  const last = latestTerm(user);
  const notice = { cn: user.cn, ...(last ? { last_term: last } : {}) };
  if (user.loginShell === expired) {
    // On a later attempt this may be our own work: it still gets its notice.
    return ctx.attempt > 1 && user.previousLoginShell !== undefined ? { outcome: 'expired', notice } : { outcome: 'already_expired' };
  }
  if (!isExpired(user, ctx.payload.threshold, expired)) return { outcome: 'renewed' };
  await ldap.modifyUser(uid, [
    { op: 'replace', attr: 'previousLoginShell', values: [user.loginShell || ctx.config.shells.default] },
    { op: 'replace', attr: 'loginShell', values: [expired] },
  ]);
  return { outcome: 'expired', notice };
}

async function setExpiredShells(ctx: Ctx): Promise<{ result: ShellsResult; warning?: string }> {
  const { uids } = ctx.payload;
  const done = await ctx.forEachItem(uids, (uid) => expireOne(ctx, uid));
  const outcomes: Record<string, ExpiryOutcome> = {};
  const notices: Record<string, Notice> = {};
  done.forEach((d, i) => {
    const uid = uids[i]!;
    if (!d.ok) {
      outcomes[uid] = `failed: ${d.error.code}: ${d.error.message}`;
      return;
    }
    outcomes[uid] = d.value.outcome;
    if (d.value.outcome === 'expired' && d.value.notice) notices[uid] = d.value.notice;
  });
  // An expired account is disabled for logins: its API sessions end too.
  await ctx.revokeSessions(Object.keys(outcomes).filter((uid) => outcomes[uid] === 'expired'));
  const expiredCount = Object.values(outcomes).filter((v) => v === 'expired').length;
  const failed = done.filter((d) => !d.ok).length;
  return {
    result: { outcomes, notices, expired_count: expiredCount, skipped_count: uids.length - expiredCount - failed, failed_count: failed },
    ...(failed ? { warning: `${failed} member(s) could not be expired; see outcomes` } : {}),
  };
}

async function sendNotices(ctx: Ctx) {
  const { notices } = ctx.result(setExpiredShellsStep);
  const domain = ctx.config.ceod.base_domain;
  const uids = Object.keys(notices);
  const done = await ctx.forEachItem(uids, async (uid) => {
    const n = notices[uid]!;
    const msg = expiryNotice({ uid, cn: n.cn, domain, lastTerm: n.last_term, currentTerm: ctx.payload.current_term });
    await ctx.adapters.mailer.send({ ...msg, to: memberAddress(uid, domain), messageId: `<${ctx.jobId}.expiry.${uid}@${domain}>` });
  });
  const mailed: Record<string, 'sent' | `failed: ${string}`> = {};
  done.forEach((d, i) => (mailed[uids[i]!] = d.ok ? 'sent' : `failed: ${d.error.message}`));
  const failed = done.filter((d) => !d.ok).length;
  return { result: { mailed }, ...(failed ? { warning: `${failed} expiry mail(s) not sent; see mailed` } : {}) };
}

const setExpiredShellsStep = step<ExpireMembersPayload, ShellsResult>({
  name: 'set_expired_shells',
  role: 'admin',
  title: (p) => `set the expired shell of ${p.uids.length} member(s)`,
  run: setExpiredShells,
});

export const expireMembers: JobType<ExpireMembersPayload> = {
  name: 'expire_members',
  payload: expireMembersPayload,
  lockKey: () => 'expire-members',
  steps: [
    setExpiredShellsStep,
    { name: 'send_expiry_mail', role: 'mail', title: () => `mail the expiry notice to those expired`, run: sendNotices, bestEffort: true },
  ],
};
