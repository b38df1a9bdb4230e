/** The bulk expiry step with fake adapters: per-member re-check and outcomes. */
import { expireMembers } from '../../src/jobs/expire-members';
import { fakeStepContext } from '../fakes/step-context';
import type { UserChange, UserEntry } from '../../src/core/model/user';
import { PermanentError, TransientError } from '../../src/core/errors';

const EXPIRED = '/usr/local/bin/expired-account';
const user = (uid: string, terms: string[], loginShell = '/bin/bash', extra: Partial<UserEntry> = {}): UserEntry => ({
  dn: `uid=${uid}`, uid, cn: `C ${uid}`, uidNumber: 1, gidNumber: 1, homeDirectory: `/users/${uid}`, loginShell, terms, nonMemberTerms: [], positions: [], mailLocalAddresses: [], impliedMemberships: [], objectClasses: ['member'], ...extra,
});

function ctx(users: Record<string, UserEntry>, uids: string[], opts: { attempt?: number; fail?: Record<string, Error> } = {}) {
  const changes: Record<string, UserChange[]> = {};
  const ldap = {
    getUser: async (uid: string) => users[uid] ?? null,
    modifyUser: async (uid: string, c: UserChange[]) => {
      if (opts.fail?.[uid]) throw opts.fail[uid];
      changes[uid] = c;
    },
  };
  const c = fakeStepContext({
    payload: { threshold: 's2020', current_term: 's2020', uids },
    attempt: opts.attempt ?? 1,
    adapters: { ldap },
    config: { shells: { expired: EXPIRED, default: '/bin/bash', allowed: ['/bin/bash'] }, ceod: { base_domain: 'x' } },
  });
  return { c, changes };
}

const step = expireMembers.steps[0]!;

describe('set_expired_shells', () => {
  it('expires those still lapsed, keeps the previous shell, and reports every member', async () => {
    const users = {
      a: user('a', ['w2020'], '/bin/zsh'),
      renewed: user('renewed', ['w2020', 's2020']), // renewed after the API selected them
      done: user('done', ['w2020'], EXPIRED),
    };
    const { c, changes } = ctx(users, ['a', 'renewed', 'done', 'gone']);
    const out = (await step.run(c))!;
    expect(out.result!.outcomes).toEqual({ a: 'expired', renewed: 'renewed', done: 'already_expired', gone: 'gone' });
    expect(changes.a).toEqual([
      { op: 'replace', attr: 'previousLoginShell', values: ['/bin/zsh'] },
      { op: 'replace', attr: 'loginShell', values: [EXPIRED] },
    ]);
    expect(Object.keys(changes)).toEqual(['a']);
    expect(out.result!.notices).toEqual({ a: { cn: 'C a', last_term: 'w2020' } });
  });

  it('on a later attempt, an account it expired itself still gets its notice', async () => {
    const { c } = ctx({ a: user('a', ['w2020'], EXPIRED, { previousLoginShell: '/bin/bash' }) }, ['a'], { attempt: 2 });
    expect((await step.run(c))!.result!.outcomes).toEqual({ a: 'expired' });
  });

  it('reports a member refused for good and goes on; retries the whole step on an outage', async () => {
    const users = { a: user('a', ['w2020']), b: user('b', ['w2020']) };
    const refused = ctx(users, ['a', 'b'], { fail: { a: new PermanentError('LDAP_REFUSED', 'no') } });
    const out = (await step.run(refused.c))!;
    expect(out.result!.outcomes).toMatchObject({ a: expect.stringMatching(/^failed: LDAP_REFUSED/), b: 'expired' });
    expect(out.warning).toMatch(/1 member/);
    const down = ctx(users, ['a', 'b'], { fail: { a: new TransientError('LDAP_UNAVAILABLE', 'down') } });
    await expect(step.run(down.c)).rejects.toMatchObject({ code: 'LDAP_UNAVAILABLE' });
  });
});
