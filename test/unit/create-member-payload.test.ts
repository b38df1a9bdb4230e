import { createMemberPayload } from '../../src/jobs/create-member';

const valid = {
  uid: 'alice1',
  cn: 'Alice One',
  given_name: 'Alice',
  sn: 'One',
  program: 'MATH',
  terms: ['f2026'],
  forwarding_addresses: ['alice@example.org'],
};

const firstIssue = (body: unknown) => {
  const r = createMemberPayload.safeParse(body);
  return r.success ? null : { path: r.error.issues[0]!.path.join('.'), message: r.error.issues[0]!.message };
};

describe('create member payload', () => {
  it('accepts a member and a club rep', () => {
    expect(firstIssue(valid)).toBeNull();
    const { terms: _t, ...rep } = valid;
    expect(firstIssue({ ...rep, non_member_terms: ['f2026'] })).toBeNull();
  });

  it.each([
    [{ ...valid, uid: 'Alice' }, 'uid'],
    [{ ...valid, uid: '1alice' }, 'uid'],
    [{ ...valid, uid: 'a'.repeat(33) }, 'uid'],
    [{ ...valid, uid: 'al*ce' }, 'uid'],
    [{ ...valid, uid: 'al,ce=x' }, 'uid'],
    [{ ...valid, uid: '../etc' }, 'uid'],
    [{ ...valid, uid: 'root' }, 'uid'],
    [{ ...valid, uid: 'alice\u0000' }, 'uid'],
    [{ ...valid, cn: '' }, 'cn'],
    [{ ...valid, cn: 'Eve\u202eevil' }, 'cn'],
    [{ ...valid, cn: 'line\nbreak' }, 'cn'],
    [{ ...valid, terms: ['fall2026'] }, 'terms.0'],
    [{ ...valid, terms: [] }, 'terms'],
    [{ ...valid, terms: 'f2026' }, 'terms'],
    [{ ...valid, forwarding_addresses: ['not-an-address'] }, 'forwarding_addresses.0'],
    [{ ...valid, non_member_terms: ['f2026'] }, 'non_member_terms'],
    [{ ...valid, terms: undefined }, 'terms'],
    [{ ...valid, extra: 1 }, ''],
  ])('refuses %j at %s', (body, path) => {
    const issue = firstIssue(body);
    expect(issue).not.toBeNull();
    expect(issue!.path).toBe(path);
  });
});

describe('given_name and sn, when absent, from cn', () => {
  const parse = (extra: Record<string, unknown>) => createMemberPayload.parse({ uid: 'test_1', cn: 'Test One', terms: ['f2026'], ...extra });
  it.each([
    ['Test One', { given_name: 'Test', sn: 'One' }],
    ['Mary Ann  van Dyke', { given_name: 'Mary Ann van', sn: 'Dyke' }],
    ['Cher', { sn: 'Cher' }],
  ])('%j gives %j', (cn, names) => {
    const p = parse({ cn });
    expect({ given_name: p.given_name, sn: p.sn }).toEqual({ given_name: undefined, ...names });
  });

  it('never replaces one that is given', () => {
    expect(parse({ given_name: 'T.', sn: 'Uno' })).toMatchObject({ given_name: 'T.', sn: 'Uno' });
    expect(parse({ sn: 'Uno' })).toMatchObject({ given_name: 'Test', sn: 'Uno' });
    expect(parse({ given_name: 'T.' })).toMatchObject({ given_name: 'T.', sn: 'One' });
  });

  it('is stable when the job parses its payload again', () => {
    const once = parse({});
    expect(createMemberPayload.parse(once)).toEqual(once);
  });

  it('accepts the uid test_1 (Debian adduser’s rule)', () => {
    expect(parse({}).uid).toBe('test_1');
  });
});
