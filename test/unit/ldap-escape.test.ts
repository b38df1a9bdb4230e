import { EqualityFilter, FilterParser, AndFilter } from 'ldapts';
import { childValue, escapeDnValue, escapeFilterValue, normalizeDn, splitDn, unescapeDnValue } from '../../src/ldap/escape';

describe('escapeDnValue (RFC 4514)', () => {
  it.each([
    ['alice', 'alice'],
    ['a,b', 'a\\,b'],
    ['a+b', 'a\\+b'],
    ['a=b', 'a\\=b'],
    ['a"b;c<d>e', 'a\\"b\\;c\\<d\\>e'],
    ['back\\slash', 'back\\\\slash'],
    [' lead', '\\ lead'],
    ['trail ', 'trail\\ '],
    ['#hash', '\\#hash'],
    ['mid#dle', 'mid#dle'],
    ['nul\0x', 'nul\\00x'],
    ['new\nline', 'new\\0aline'],
    ['*(wild)*', '*(wild)*'],
    ['Zoë', 'Zoë'],
  ])('%j -> %j', (raw, escaped) => {
    expect(escapeDnValue(raw)).toBe(escaped);
  });

  it('round-trips through unescapeDnValue', () => {
    for (const v of ['a,b', ' x ', '#y', 'q\\r', 'nul\0', 'x=y+z', 'Zoë,Müller']) {
      expect(unescapeDnValue(escapeDnValue(v))).toBe(v);
    }
  });

  it('keeps an injected RDN inside the value', () => {
    const dn = `uid=${escapeDnValue('x,ou=Group,dc=evil')},ou=People,dc=csclub,dc=internal`;
    expect(splitDn(dn)).toEqual(['uid=x\\,ou\\=Group\\,dc\\=evil', 'ou=People', 'dc=csclub', 'dc=internal']);
  });
});

describe('escapeFilterValue (RFC 4515)', () => {
  it.each([
    ['alice', 'alice'],
    ['*', '\\2a'],
    ['a)(uid=*', 'a\\29\\28uid=\\2a'],
    ['back\\slash', 'back\\5cslash'],
    ['nul\0', 'nul\\00'],
    ['Zoë', 'Zoë'],
  ])('%j -> %j', (raw, escaped) => {
    expect(escapeFilterValue(raw)).toBe(escaped);
  });

  it('parses back (as ldapts sends it) to one equality assertion on the literal value', () => {
    for (const hostile of ['*', 'x)(|(uid=*', 'a\\b', 'nul\0', '(', ')', 'x*y', 'Zoë*']) {
      const f = FilterParser.parseString(`(uid=${escapeFilterValue(hostile)})`);
      expect(f).toBeInstanceOf(EqualityFilter);
      expect((f as EqualityFilter).attribute).toBe('uid');
      expect((f as EqualityFilter).value).toBe(hostile);
    }
  });

  it('cannot widen a compound filter', () => {
    const f = FilterParser.parseString(`(&(objectClass=posixAccount)(uid=${escapeFilterValue('x)(objectClass=*')}))`);
    expect(f).toBeInstanceOf(AndFilter);
    expect((f as AndFilter).filters).toHaveLength(2);
  });
});

describe('DN helpers', () => {
  it('unescapes hex pairs, including UTF-8 sequences', () => {
    expect(unescapeDnValue('Zo\\c3\\ab')).toBe('Zoë');
    expect(unescapeDnValue('a\\2cb')).toBe('a,b');
    expect(() => unescapeDnValue('bad\\')).toThrow();
  });

  it('normalizes case, spacing and escaping for comparison', () => {
    expect(normalizeDn('UID=Alice, OU=People,dc=csclub,dc=internal')).toBe('uid=alice,ou=people,dc=csclub,dc=internal');
    expect(normalizeDn('uid=a\\2cb,ou=People')).toBe(normalizeDn('uid=a\\,b,ou=People'));
  });

  it('reads the uid of a DN directly under the base, and nothing else', () => {
    const base = 'ou=People,dc=csclub,dc=internal';
    expect(childValue('uid=alice,ou=People,dc=csclub,dc=internal', 'uid', base)).toBe('alice');
    expect(childValue('UID=alice, ou=people,DC=csclub,dc=internal', 'uid', base)).toBe('alice');
    expect(childValue('uid=a\\,b,ou=People,dc=csclub,dc=internal', 'uid', base)).toBe('a,b');
    expect(childValue('cn=alice,ou=People,dc=csclub,dc=internal', 'uid', base)).toBeNull();
    expect(childValue('uid=alice,ou=Other,dc=csclub,dc=internal', 'uid', base)).toBeNull();
    expect(childValue('uid=alice,ou=x,ou=People,dc=csclub,dc=internal', 'uid', base)).toBeNull();
    expect(childValue('garbage', 'uid', base)).toBeNull();
  });
});
