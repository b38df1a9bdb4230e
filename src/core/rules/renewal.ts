/** Renewal and the terms a request may name (docs/terms.md#renewal), for the API's checks and the job's. */
import type { UserEntry } from '../model/user';
import { isPastTerm } from './terms';
import { ruleViolation } from './violation';

export interface TermsRequest {
  terms?: string[];
  non_member_terms?: string[];
}

/** Which attribute a renewal adds to, and which one must not hold the same terms. */
export function renewalKind(p: TermsRequest) {
  return p.terms
    ? { attr: 'term' as const, field: 'terms' as const, terms: p.terms, other: 'nonMemberTerms' as const }
    : { attr: 'nonMemberTerm' as const, field: 'non_member_terms' as const, terms: p.non_member_terms ?? [], other: 'terms' as const };
}

/** Refuses terms in the past (a term already over cannot be paid for). */
export function assertNoPastTerms(p: TermsRequest, today: Date): void {
  for (const field of ['terms', 'non_member_terms'] as const) {
    const past = (p[field] ?? []).find((t) => isPastTerm(t, today));
    if (past) throw ruleViolation(field, `${past} is in the past`);
  }
}

/** Refuses a renewal naming a term the user holds as the other kind (a person is never both member and rep in one term). */
export function assertNoTermClash(uid: string, p: TermsRequest, user: Pick<UserEntry, 'terms' | 'nonMemberTerms'>): void {
  const kind = renewalKind(p);
  const clash = kind.terms.find((t) => user[kind.other].includes(t));
  if (clash) throw ruleViolation(kind.field, `${uid} already holds ${clash} as the other kind of term`);
}
