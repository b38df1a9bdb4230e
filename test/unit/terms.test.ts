import { compareTerms, isPastTerm, nextTerm, sortTerms, termOf, termOrdinal } from '../../src/core/rules/terms';

describe('terms', () => {
  it.each([
    ['2026-01-01T00:00:00Z', 'w2026'],
    ['2026-04-30T23:59:59Z', 'w2026'],
    ['2026-05-01T00:00:00Z', 's2026'],
    ['2026-08-31T12:00:00Z', 's2026'],
    ['2026-09-01T00:00:00Z', 'f2026'],
    ['2026-12-31T23:59:59Z', 'f2026'],
  ])('the term of %s is %s', (date, term) => {
    expect(termOf(new Date(date))).toBe(term);
  });

  it('orders by date, not alphabetically', () => {
    expect(sortTerms(['w2027', 'f2026', 's2026', 'w2026'])).toEqual(['w2026', 's2026', 'f2026', 'w2027']);
    expect(compareTerms('w2027', 'f2026')).toBeGreaterThan(0);
  });

  it('deduplicates when sorting', () => {
    expect(sortTerms(['f2026', 'f2026', 'w2026'])).toEqual(['w2026', 'f2026']);
  });

  it('steps across years', () => {
    expect(nextTerm('f2026')).toBe('w2027');
    expect(nextTerm('w2027', -1)).toBe('f2026');
  });

  it('knows past terms relative to a given day', () => {
    const day = new Date('2026-11-26T00:00:00Z');
    expect(isPastTerm('s2026', day)).toBe(true);
    expect(isPastTerm('f2026', day)).toBe(false);
    expect(isPastTerm('w2027', day)).toBe(false);
  });

  it('refuses what is not a term', () => {
    expect(() => termOrdinal('x2026')).toThrow(RangeError);
    expect(() => termOrdinal('f26')).toThrow(RangeError);
  });
});
