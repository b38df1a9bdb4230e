/**
 * Terms: `[wsf]YYYY` — winter (Jan–Apr), spring (May–Aug), fall (Sep–Dec).
 * Ordering is by date, never alphabetical (`w2027` comes after `f2026`).
 */
export const TERM_RE = /^[wsf](19|20|21)\d\d$/;

const SEASONS = ['w', 's', 'f'] as const;

/** A sortable number: 3 × year + season index. */
export function termOrdinal(term: string): number {
  if (!TERM_RE.test(term)) throw new RangeError(`not a term: ${term}`);
  return Number(term.slice(1)) * 3 + SEASONS.indexOf(term[0] as (typeof SEASONS)[number]);
}

export function termFromOrdinal(n: number): string {
  return `${SEASONS[n % 3]}${Math.floor(n / 3)}`;
}

/** The term a date falls in (UTC). */
export function termOf(date: Date): string {
  return `${SEASONS[Math.floor(date.getUTCMonth() / 4)]}${date.getUTCFullYear()}`;
}

export function compareTerms(a: string, b: string): number {
  return termOrdinal(a) - termOrdinal(b);
}

/** Deduplicated and sorted by date. */
export function sortTerms(terms: Iterable<string>): string[] {
  return [...new Set(terms)].sort(compareTerms);
}

export function nextTerm(term: string, by = 1): string {
  return termFromOrdinal(termOrdinal(term) + by);
}

export function isPastTerm(term: string, today: Date): boolean {
  return termOrdinal(term) < termOrdinal(termOf(today));
}
