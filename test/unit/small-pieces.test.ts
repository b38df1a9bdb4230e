import { lowestFreeId } from '../../src/jobs/uid-numbers';
import { backoffDelay } from '../../src/workers/runner';
import { generatePassword, openSecret, sealSecret } from '../../src/core/secret-box';
import { gssServiceName } from '../../src/krb5/spnego';
import { isName, principalToUid } from '../../src/core/model/names';
import { uidSchema } from '../../src/core/model/fields';
import { checkPrincipalName } from '../../src/krb5/kadmin-output';
import { homePath } from '../../src/homedirs/paths';
import { escapeDnValue, escapeFilterValue } from '../../src/ldap/escape';
import { randomBytes } from 'node:crypto';

describe('uid number allocation', () => {
  it('takes the lowest number used by no uid and no gid', () => {
    expect(lowestFreeId(new Set([20001, 20002, 20004]), 20001, 20010)).toBe(20003);
    expect(lowestFreeId(new Set(), 20001, 20010)).toBe(20001);
  });
  it('fails permanently when the range is full', () => {
    expect(() => lowestFreeId(new Set([1, 2, 3]), 1, 3)).toThrow(expect.objectContaining({ code: 'UID_RANGE_EXHAUSTED', permanent: true }));
  });
});

describe('backoff', () => {
  it('grows exponentially, with jitter, up to a cap', () => {
    expect(backoffDelay(1, 500, 8000, () => 0)).toBe(250);
    expect(backoffDelay(1, 500, 8000, () => 1)).toBe(500);
    expect(backoffDelay(3, 500, 8000, () => 1)).toBe(2000);
    expect(backoffDelay(10, 500, 8000, () => 1)).toBe(8000);
    expect(backoffDelay(10, 500, 8000, () => 0)).toBe(4000);
  });
});

describe('secret box', () => {
  const key = randomBytes(32);
  it('round-trips, and binds the context', () => {
    const sealed = sealSecret(key, 'job1/password', 'hunter2');
    expect(sealed).not.toContain('hunter2');
    expect(openSecret(key, 'job1/password', sealed)).toBe('hunter2');
    expect(openSecret(key, 'job2/password', sealed)).toBeNull();
    expect(openSecret(randomBytes(32), 'job1/password', sealed)).toBeNull();
    expect(openSecret(key, 'job1/password', 'garbage')).toBeNull();
  });
  it('generates passwords from an unambiguous alphabet', () => {
    const pws = new Set(Array.from({ length: 50 }, () => generatePassword()));
    expect(pws.size).toBe(50);
    for (const pw of pws) expect(pw).toMatch(/^[a-km-zA-HJ-NP-Z2-9]{16}$/);
  });
});

describe('principals', () => {
  it('maps user principals of our realm to uids, and nothing else', () => {
    expect(principalToUid('ctdalek@CSCLUB.INTERNAL', 'CSCLUB.INTERNAL')).toBe('ctdalek');
    expect(principalToUid('ceod/admin@CSCLUB.INTERNAL', 'CSCLUB.INTERNAL')).toBeNull();
    expect(principalToUid('ctdalek@EVIL.ORG', 'CSCLUB.INTERNAL')).toBeNull();
    expect(principalToUid('ctdalek', 'CSCLUB.INTERNAL')).toBeNull();
  });
  it('turns a service principal into a GSS service name', () => {
    expect(gssServiceName('ceod/localhost')).toBe('ceod@localhost');
    expect(gssServiceName('ceod/phosphoric-acid.csclub.internal@CSCLUB.INTERNAL')).toBe('ceod@phosphoric-acid.csclub.internal');
  });
});

describe('the one name rule (Debian adduser: ^[a-z][-a-z0-9_]*$, at most 32)', () => {
  it('takes test_1 everywhere a name goes', () => {
    for (const n of ['test_1', 'a', 'a-b_c', `a${'_'.repeat(31)}`]) expect([n, isName(n)]).toEqual([n, true]);
    expect(principalToUid('test_1@CSCLUB.INTERNAL', 'CSCLUB.INTERNAL')).toBe('test_1');
    expect(checkPrincipalName('test_1')).toBeUndefined();
    expect(homePath('/users', 'test_1')).toBe('/users/test_1');
    expect(escapeDnValue('test_1')).toBe('test_1');
    expect(escapeFilterValue('test_1')).toBe('test_1');
    expect(uidSchema.safeParse('test_1').success).toBe(true);
  });
  it.each(['_a', '1a', '-a', 'A', 'a.b', 'a b', 'a$', `a${'b'.repeat(32)}`, ''])('refuses %j', (n) => {
    expect(isName(n)).toBe(false);
    expect(uidSchema.safeParse(n).success).toBe(false);
  });
});
