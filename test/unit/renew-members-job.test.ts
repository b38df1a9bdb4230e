/** The bulk renewal step with fake adapters: one search per chunk, one modify per member, per-member outcomes. */
import { renewMembers } from '../../src/jobs/renew-members';
import { selectLapsed } from '../../src/core/rules/expiry';
import { fakeStepContext } from '../fakes/step-context';
import type { UserChange, UserEntry } from '../../src/core/model/user';
import { PermanentError, TransientError } from '../../src/core/errors';

const EXPIRED = '/usr/local/bin/expired-account';
const user = (uid: string, terms: string[], loginShell = '/bin/bash', extra: Partial<UserEntry> = {}): UserEntry => ({
  dn: `uid=${uid}`, uid, cn: `C ${uid}`, uidNumber: 1, gidNumber: 1, homeDirectory: `/users/${uid}`, loginShell, terms, nonMemberTerms: [], positions: [], mailLocalAddresses: [], objectClasses: ['member'], impliedMemberships: [], ...extra,
});

function ctx(users: Record<string, UserEntry>, uids: string[], opts: { fail?: Record<string, Error>; nonMember?: boolean } = {}) {
  const changes: Record<string, UserChange[]> = {};
  const searches: number[] = [];
  const ldap = {
    getUsers: async (wanted: string[]) => {
      searches.push(wanted.length);
      return wanted.flatMap((u) => (users[u] ? [users[u]!] : []));
    },
    modifyUser: async (uid: string, c: UserChange[]) => {
      if (opts.fail?.[uid]) throw opts.fail[uid];
      changes[uid] = c;
    },
  };
  const c = fakeStepContext({
    payload: opts.nonMember ? { uids, non_member_terms: ['s2020'] } : { uids, terms: ['s2020'] },
    adapters: { ldap },
    config: { shells: { expired: EXPIRED, default: '/bin/bash', allowed: ['/bin/bash', '/bin/zsh'] } },
  });
  return { c, changes, searches };
}

const step = renewMembers.steps[0]!;

describe('renew_members', () => {
  it('adds the terms and restores the shell in one modify per member, and reports every member', async () => {
    const users = {
      expired: user('expired', ['w2020'], EXPIRED, { previousLoginShell: '/bin/zsh' }),
      lapsed: user('lapsed', ['f2019']),
      odd: user('odd', ['w2020'], EXPIRED, { previousLoginShell: '/bin/evil' }),
      held: user('held', ['w2020', 's2020']),
      rep: user('rep', [], '/bin/bash', { nonMemberTerms: ['s2020'] }),
    };
    const { c, changes } = ctx(users, ['expired', 'lapsed', 'odd', 'held', 'rep', 'gone']);
    const out = (await step.run(c))!;
    expect(out.result).toEqual({
      outcomes: { expired: 'renewed', lapsed: 'renewed', odd: 'renewed', held: 'unchanged', rep: expect.stringMatching(/^failed: BAD_REQUEST: terms: rep already holds s2020/), gone: 'gone' },
      shells_restored: { expired: '/bin/zsh', odd: '/bin/bash' },
      renewed_count: 3,
      unchanged_count: 1,
      gone_count: 1,
      failed_count: 1,
    });
    expect(out.warning).toMatch(/1 member/);
    expect(changes.expired).toEqual([
      { op: 'replace', attr: 'term', values: ['w2020', 's2020'] },
      { op: 'replace', attr: 'loginShell', values: ['/bin/zsh'] },
      { op: 'replace', attr: 'previousLoginShell', values: [] },
    ]);
    expect(changes.lapsed).toEqual([{ op: 'replace', attr: 'term', values: ['f2019', 's2020'] }]);
    expect(changes.held).toBeUndefined();
  });

  it('reads the entries a chunk at a time', async () => {
    const uids = Array.from({ length: 450 }, (_, i) => `m${i}`);
    const users = Object.fromEntries(uids.map((u) => [u, user(u, ['w2020'], EXPIRED)]));
    const { c, changes, searches } = ctx(users, uids);
    const out = (await step.run(c))!;
    expect(searches).toEqual([200, 200, 50]);
    expect(Object.keys(changes)).toHaveLength(450);
    expect(out.result!.renewed_count).toBe(450);
  });

  it('a member the server refuses is that member\'s outcome; an outage retries the step', async () => {
    const users = { a: user('a', ['w2020']), b: user('b', ['w2020']) };
    const refused = ctx(users, ['a', 'b'], { fail: { a: new PermanentError('LDAP_REFUSED', 'no') } });
    const out = (await step.run(refused.c))!;
    expect(out.result!.outcomes).toEqual({ a: 'failed: LDAP_REFUSED: no', b: 'renewed' });
    const down = ctx(users, ['a', 'b'], { fail: { a: new TransientError('LDAP_UNAVAILABLE', 'down') } });
    await expect(step.run(down.c)).rejects.toMatchObject({ code: 'LDAP_UNAVAILABLE' });
  });

  it('renews club reps with non-member terms', async () => {
    const { c, changes } = ctx({ r: user('r', [], '/bin/bash', { nonMemberTerms: ['w2020'] }) }, ['r'], { nonMember: true });
    await step.run(c);
    expect(changes.r).toEqual([{ op: 'replace', attr: 'nonMemberTerm', values: ['w2020', 's2020'] }]);
  });
});

describe('selectLapsed', () => {
  it('lists accounts on the expired shell or whose latest term is older than the threshold, never those without terms', () => {
    const all = [
      { uid: 'b', loginShell: '/bin/bash', terms: ['f2019'], nonMemberTerms: [] },
      { uid: 'a', loginShell: EXPIRED, terms: ['s2020'], nonMemberTerms: [] },
      { uid: 'current', loginShell: '/bin/bash', terms: ['s2020'], nonMemberTerms: [] },
      { uid: 'system', loginShell: EXPIRED, terms: [], nonMemberTerms: [] },
      { uid: 'rep', loginShell: '/bin/bash', terms: [], nonMemberTerms: ['w2020'] },
    ];
    expect(selectLapsed(all, 's2020', EXPIRED)).toEqual(['a', 'b', 'rep']);
  });
});
