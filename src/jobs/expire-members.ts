/**
 * Expire members (SPEC §3, §4): a bulk job. The API selects who expires (the
 * same rule as its dry run, see src/expiry.ts) and enqueues their uids with
 * the threshold term; the admin step re-checks each one before setting the
 * expired shell, so a member renewed meanwhile is never expired. The previous
 * shell is kept in `previousLoginShell` for renewal to restore. The expiry
 * mail is best effort. Each member's outcome is in the job result.
 */
import { z } from 'zod';
import { classify } from '../errors';
import { isExpired, latestTerm } from '../expiry';
import { expiryNotice } from '../mail/templates';
import { termSchema, uidSchema } from './fields';
import type { JobType, StepContext } from './types';

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

const CONCURRENCY = 8;

/** Runs `work` over `items`, at most `n` at a time. */
async function eachLimited<T>(items: readonly T[], n: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

async function setExpiredShells(ctx: Ctx) {
  const { ldap } = ctx.adapters;
  const expired = ctx.config.shells.expired;
  const outcomes: Record<string, ExpiryOutcome> = {};
  const notices: Record<string, { cn: string; last_term?: string }> = {};
  await eachLimited(ctx.payload.uids, CONCURRENCY, async (uid) => {
    if (ctx.signal.aborted) throw new Error('step aborted');
    try {
      const user = await ldap.getUser(uid);
      if (!user) {
        outcomes[uid] = 'gone';
        return;
      }
      const last = latestTerm(user);
      if (user.loginShell === expired) {
        // On a later attempt this may be our own work: it still gets its notice.
        outcomes[uid] = ctx.attempt > 1 && user.previousLoginShell !== undefined ? 'expired' : 'already_expired';
      } else if (!isExpired(user, ctx.payload.threshold, expired)) {
        outcomes[uid] = 'renewed';
      } else {
        await ldap.modifyUser(uid, [
          { op: 'replace', attr: 'previousLoginShell', values: [user.loginShell || ctx.config.shells.default] },
          { op: 'replace', attr: 'loginShell', values: [expired] },
        ]);
        outcomes[uid] = 'expired';
      }
      if (outcomes[uid] === 'expired') notices[uid] = { cn: user.cn, ...(last ? { last_term: last } : {}) };
    } catch (err) {
      const info = classify(err);
      // A server outage is retried as a whole (every member is an ensure); one refused member is reported.
      if (!info.permanent) throw err;
      outcomes[uid] = `failed: ${info.code}: ${info.message}`;
    }
  });
  const count = (o: string) => Object.values(outcomes).filter((v) => v === o).length;
  const failed = Object.values(outcomes).filter((v) => v.startsWith('failed')).length;
  return {
    result: { outcomes, notices, expired_count: count('expired'), skipped_count: ctx.payload.uids.length - count('expired') - failed, failed_count: failed },
    ...(failed ? { warning: `${failed} member(s) could not be expired; see outcomes` } : {}),
  };
}

async function sendNotices(ctx: Ctx) {
  const notices = (ctx.results.set_expired_shells?.notices ?? {}) as Record<string, { cn: string; last_term?: string }>;
  const domain = ctx.config.ceod.base_domain;
  const mailed: Record<string, 'sent' | `failed: ${string}`> = {};
  await eachLimited(Object.keys(notices), CONCURRENCY, async (uid) => {
    const n = notices[uid]!;
    try {
      const msg = expiryNotice({ uid, cn: n.cn, domain, lastTerm: n.last_term, currentTerm: ctx.payload.current_term });
      await ctx.adapters.mailer.send({ ...msg, messageId: `<${ctx.jobId}.expiry.${uid}@${domain}>` });
      mailed[uid] = 'sent';
    } catch (err) {
      mailed[uid] = `failed: ${classify(err).message}`;
    }
  });
  const failed = Object.values(mailed).filter((v) => v !== 'sent').length;
  return { result: { mailed }, ...(failed ? { warning: `${failed} expiry mail(s) not sent; see mailed` } : {}) };
}

export const expireMembers: JobType<ExpireMembersPayload> = {
  name: 'expire_members',
  payload: expireMembersPayload,
  lockKey: () => 'expire-members',
  steps: [
    { name: 'set_expired_shells', role: 'admin', title: (p) => `set the expired shell of ${p.uids.length} member(s)`, run: setExpiredShells },
    { name: 'send_expiry_mail', role: 'mail', title: (p) => `mail the expiry notice to those expired`, run: sendNotices, bestEffort: true },
  ],
};
