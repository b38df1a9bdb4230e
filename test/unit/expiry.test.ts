import { expiryThreshold, isExpired, latestTerm, selectExpired, termStart } from '../../src/core/rules/expiry';

const EXPIRED = '/usr/local/bin/expired-shell';
const m = (uid: string, terms: string[], nonMemberTerms: string[] = [], loginShell = '/bin/bash') => ({ uid, terms, nonMemberTerms, loginShell });

describe('expiry', () => {
  it('knows when each term starts', () => {
    expect(termStart('w2100').toISOString()).toBe('2100-01-01T00:00:00.000Z');
    expect(termStart('s2100').toISOString()).toBe('2100-05-01T00:00:00.000Z');
    expect(termStart('f2099').toISOString()).toBe('2099-09-01T00:00:00.000Z');
  });

  it.each([
    // during the grace period the previous term still counts
    ['2100-01-01T00:00:00Z', 30, 'f2099'],
    ['2100-01-30T23:59:59Z', 30, 'f2099'],
    ['2100-01-31T00:00:00Z', 30, 'w2100'],
    ['2100-05-15T00:00:00Z', 30, 'w2100'],
    ['2100-06-15T00:00:00Z', 30, 's2100'],
    ['2099-09-01T00:00:00Z', 0, 'f2099'],
  ])('on %s with %i days of grace, members must hold %s', (date, grace, threshold) => {
    expect(expiryThreshold(new Date(date), grace)).toBe(threshold);
  });

  it('takes the latest term by date, member or non-member, ignoring malformed values', () => {
    expect(latestTerm({ terms: ['w2100', 'f2099'], nonMemberTerms: [] })).toBe('w2100');
    expect(latestTerm({ terms: ['f2099'], nonMemberTerms: ['s2100'] })).toBe('s2100');
    expect(latestTerm({ terms: ['bogus', 'f2099'], nonMemberTerms: [] })).toBe('f2099');
    expect(latestTerm({ terms: [], nonMemberTerms: [] })).toBeUndefined();
  });

  it('expires accounts whose latest term is older than the threshold, and no one else', () => {
    expect(isExpired(m('a', ['f2099']), 'w2100', EXPIRED)).toBe(true);
    expect(isExpired(m('b', ['f2099', 'w2100']), 'w2100', EXPIRED)).toBe(false); // renewed for the current term
    expect(isExpired(m('c', ['s2101']), 'w2100', EXPIRED)).toBe(false); // paid ahead
    expect(isExpired(m('d', [], ['f2099']), 'w2100', EXPIRED)).toBe(true); // a club rep who lapsed
    expect(isExpired(m('e', [], ['w2100']), 'w2100', EXPIRED)).toBe(false);
    expect(isExpired(m('f', []), 'w2100', EXPIRED)).toBe(false); // never held a term: not a membership account
    expect(isExpired(m('g', ['f2099'], [], EXPIRED), 'w2100', EXPIRED)).toBe(false); // already expired
  });

  it('selects and sorts the uids to expire', () => {
    const all = [m('zed', ['f2099']), m('amy', ['w2099']), m('bob', ['w2100']), m('cat', ['f2099'], [], EXPIRED)];
    expect(selectExpired(all, 'w2100', EXPIRED)).toEqual(['amy', 'zed']);
  });
});
