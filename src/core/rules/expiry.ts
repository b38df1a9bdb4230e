/**
 * Who expires (docs/terms.md#expiry): one month into a term (the grace period), accounts
 * whose latest term is older than the current term. Pure functions of the
 * directory entries and a date, so the API's dry run, the bulk job and the
 * unit tests agree on one rule.
 */
import { nextTerm, TERM_RE, termOf, termOrdinal } from './terms';

export interface ExpiryCandidate {
  uid: string;
  loginShell: string;
  terms: string[];
  nonMemberTerms: string[];
}

/** The first day (UTC) of a term: Jan 1, May 1 or Sep 1. */
export function termStart(term: string): Date {
  const month = { w: 0, s: 4, f: 8 }[term[0] as 'w' | 's' | 'f'];
  return new Date(Date.UTC(Number(term.slice(1)), month, 1));
}

/**
 * The oldest term an account must hold to be kept on `today`: the current term
 * once the grace period is over, the previous one during it.
 */
export function expiryThreshold(today: Date, graceDays: number): string {
  const current = termOf(today);
  const graceEnds = termStart(current).getTime() + graceDays * 86_400_000;
  return today.getTime() < graceEnds ? nextTerm(current, -1) : current;
}

/** The latest term held (member or non-member), or undefined for an account that never held one. */
export function latestTerm(c: Pick<ExpiryCandidate, 'terms' | 'nonMemberTerms'>): string | undefined {
  let best: string | undefined;
  for (const t of [...c.terms, ...c.nonMemberTerms]) {
    if (!TERM_RE.test(t)) continue; // a malformed value someone wrote by hand
    if (best === undefined || termOrdinal(t) > termOrdinal(best)) best = t;
  }
  return best;
}

/**
 * Whether `c` is to be expired at `threshold`. Accounts that never held a
 * term (system and legacy accounts) are not membership accounts and are never
 * expired; accounts already on the expired shell are done.
 */
export function isExpired(c: ExpiryCandidate, threshold: string, expiredShell: string): boolean {
  if (c.loginShell === expiredShell) return false;
  const latest = latestTerm(c);
  return latest !== undefined && termOrdinal(latest) < termOrdinal(threshold);
}

/** The uids to expire, sorted. */
export function selectExpired(all: readonly ExpiryCandidate[], threshold: string, expiredShell: string): string[] {
  return all
    .filter((c) => isExpired(c, threshold, expiredShell))
    .map((c) => c.uid)
    .sort();
}

/**
 * The uids a bulk renewal of "every expired account" works on, sorted: those
 * on the expired shell, and those whose latest term is older than `threshold`
 * (lapsed, whether or not the expiry job has run yet). Accounts that never
 * held a term are left out, as from expiry.
 */
export function selectLapsed(all: readonly ExpiryCandidate[], threshold: string, expiredShell: string): string[] {
  return all
    .filter((c) => {
      const latest = latestTerm(c);
      return latest !== undefined && (c.loginShell === expiredShell || termOrdinal(latest) < termOrdinal(threshold));
    })
    .map((c) => c.uid)
    .sort();
}
