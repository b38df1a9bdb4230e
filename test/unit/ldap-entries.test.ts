import { groupAttributes, groupDn, toGroupEntry, toUserEntry, userAttributes, userDn, values } from '../../src/ldap/entries';

const users = 'ou=People,dc=csclub,dc=internal';
const groups = 'ou=Group,dc=csclub,dc=internal';

describe('LDAP entries', () => {
  it('builds escaped DNs', () => {
    expect(userDn('alice', users)).toBe('uid=alice,ou=People,dc=csclub,dc=internal');
    expect(groupDn('a,b', groups)).toBe('cn=a\\,b,ou=Group,dc=csclub,dc=internal');
  });

  it('builds a member entry, dropping absent and empty values', () => {
    const a = userAttributes({
      uid: 'alice',
      cn: 'Alice Liddell',
      givenName: 'Alice',
      sn: '',
      uidNumber: 20001,
      gidNumber: 20001,
      homeDirectory: '/users/alice',
      loginShell: '/bin/bash',
      terms: ['w2026', 'w2026', 's2026'],
      nonMemberTerms: [],
      kind: 'member',
    });
    expect(a).toEqual({
      objectClass: ['top', 'account', 'posixAccount', 'shadowAccount', 'member'],
      uid: 'alice',
      cn: 'Alice Liddell',
      givenName: 'Alice',
      uidNumber: '20001',
      gidNumber: '20001',
      homeDirectory: '/users/alice',
      loginShell: '/bin/bash',
      term: ['w2026', 's2026'],
    });
  });

  it('uses the club class for clubs', () => {
    const a = userAttributes({ uid: 'chess', cn: 'Chess Club', uidNumber: 30001, gidNumber: 30001, homeDirectory: '/users/chess', loginShell: '/bin/bash', kind: 'club' });
    expect(a.objectClass).toContain('club');
    expect(a.objectClass).not.toContain('member');
  });

  it('builds a group with uniqueMember DNs', () => {
    expect(groupAttributes({ cn: 'syscom', gidNumber: 10001, members: ['alice', 'bob'] }, users)).toEqual({
      objectClass: ['top', 'posixGroup', 'group'],
      cn: 'syscom',
      gidNumber: '10001',
      uniqueMember: ['uid=alice,ou=People,dc=csclub,dc=internal', 'uid=bob,ou=People,dc=csclub,dc=internal'],
    });
    expect(groupAttributes({ cn: 'empty', gidNumber: 10002 }, users)).not.toHaveProperty('uniqueMember');
  });

  it('normalizes single and multiple values, any attribute-name case', () => {
    const e = { dn: 'uid=alice,' + users, uid: 'alice', cn: ['Alice'], uidnumber: '20001', GIDNumber: '20001', homeDirectory: '/users/alice', loginShell: '/bin/bash', term: 'w2026', objectClass: ['account', 'member'] };
    const u = toUserEntry(e);
    expect(u).toMatchObject({ uid: 'alice', cn: 'Alice', uidNumber: 20001, gidNumber: 20001, terms: ['w2026'], nonMemberTerms: [], positions: [], mailLocalAddresses: [] });
    expect(u).not.toHaveProperty('program');
    expect(toUserEntry({ ...e, term: ['w2026', 's2026'], position: 'president' }).terms).toEqual(['w2026', 's2026']);
    expect(values({ dn: 'x', photo: Buffer.from('hi') }, 'photo')).toEqual(['hi']);
  });

  it('reads members from uniqueMember DNs under the People base only', () => {
    const g = toGroupEntry(
      {
        dn: 'cn=syscom,' + groups,
        cn: 'syscom',
        gidNumber: '10001',
        uniqueMember: ['uid=alice,ou=People,dc=csclub,dc=internal', 'UID=bob, ou=people,dc=csclub,dc=internal', 'cn=other,ou=Group,dc=csclub,dc=internal'],
      },
      users,
    );
    expect(g).toEqual({ dn: 'cn=syscom,' + groups, cn: 'syscom', gidNumber: 10001, members: ['alice', 'bob'] });
    expect(toGroupEntry({ dn: 'cn=x,' + groups, cn: 'x', gidNumber: '1', uniqueMember: 'uid=solo,ou=People,dc=csclub,dc=internal' }, users).members).toEqual(['solo']);
  });
});
