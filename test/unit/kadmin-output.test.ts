import { checkPrincipalName, classifyKadminResult, parseGetprinc } from '../../src/krb5/kadmin-output';
import { PermanentError, TransientError } from '../../src/core/errors';

const POLICY = 'No policy specified for alice@CSCLUB.INTERNAL; defaulting to no policy\n';

describe('classifyKadminResult', () => {
  it('is success on exit 0 with only the no-policy warning', () => {
    expect(classifyKadminResult(0, '')).toBeNull();
    expect(classifyKadminResult(0, POLICY)).toBeNull();
  });

  it.each([
    ['add_principal: Principal or policy already exists while creating "alice@CSCLUB.INTERNAL".', 'KRB5_PRINCIPAL_EXISTS'],
    ['delete_principal: Principal does not exist while deleting principal "alice@CSCLUB.INTERNAL"', 'KRB5_NO_SUCH_PRINCIPAL'],
    ['get_principal: Principal does not exist while retrieving "nouser@CSCLUB.INTERNAL".', 'KRB5_NO_SUCH_PRINCIPAL'],
    ['change_password: Principal does not exist while changing password for "nouser@CSCLUB.INTERNAL".', 'KRB5_NO_SUCH_PRINCIPAL'],
    ["add_principal: Operation requires ``add'' privilege while creating \"alice@CSCLUB.INTERNAL\".", 'KRB5_NO_PRIVILEGE'],
    ["delete_principal: Operation requires ``delete'' privilege while deleting principal \"x@CSCLUB.INTERNAL\"", 'KRB5_NO_PRIVILEGE'],
    ['add_principal: Password mismatch while reading password for "alice@CSCLUB.INTERNAL".', 'KRB5_REFUSED'],
    ['add_principal: Password is too short while creating "alice@CSCLUB.INTERNAL".', 'KRB5_REFUSED'],
  ])('exit 0 with %j is permanent %s', (line, code) => {
    const err = classifyKadminResult(0, POLICY + line + '\n');
    expect(err).toBeInstanceOf(PermanentError);
    expect(err?.code).toBe(code);
  });

  it.each([
    ['kadmin: Communication failure with server while initializing kadmin interface', 'KRB5_UNAVAILABLE'],
    ["kadmin: Cannot contact any KDC for realm 'CSCLUB.INTERNAL' while initializing kadmin interface", 'KRB5_UNAVAILABLE'],
    ['kadmin: some new failure nobody has seen', 'KRB5_UNAVAILABLE'],
  ])('exit 1 with %j is transient %s', (line, code) => {
    const err = classifyKadminResult(1, line + '\n');
    expect(err).toBeInstanceOf(TransientError);
    expect(err?.code).toBe(code);
  });

  it.each([
    ["kadmin: Key table file '/etc/nope.keytab' not found while initializing kadmin interface"],
    ['kadmin: Keytab contains no suitable keys for nobody@CSCLUB.INTERNAL while initializing kadmin interface'],
  ])('exit 1 with a bad keytab (%j) is a permanent configuration error', (line) => {
    const err = classifyKadminResult(1, line);
    expect(err).toBeInstanceOf(PermanentError);
    expect(err?.code).toBe('KRB5_REFUSED');
  });

  it('treats unknown stderr on exit 0 as a failure, not a success', () => {
    const err = classifyKadminResult(0, 'modify_principal: Something new while doing it\n');
    expect(err).toBeInstanceOf(TransientError);
    expect(err?.code).toBe('UNKNOWN');
  });

  it('treats a kill (no exit code) without output as a failure', () => {
    expect(classifyKadminResult(null, '')?.permanent).toBe(false);
  });

  it('never repeats a secret in a message', () => {
    const err = classifyKadminResult(0, 'add_principal: weird echo of hunter2-secret while creating "x"\n', ['hunter2-secret']);
    expect(err?.message).not.toContain('hunter2-secret');
    expect(err?.message).toContain('***');
  });
});

describe('parseGetprinc', () => {
  const out = [
    'Authenticating as principal ceod/admin with keytab /tmp/admin.keytab.',
    'Principal: alice@CSCLUB.INTERNAL',
    'Expiration date: [never]',
    'Attributes: REQUIRES_PWCHANGE DISALLOW_SVR',
    'Policy: [none]',
  ].join('\n');

  it('reads the name and attributes', () => {
    expect(parseGetprinc(out)).toEqual({ name: 'alice@CSCLUB.INTERNAL', attributes: ['REQUIRES_PWCHANGE', 'DISALLOW_SVR'] });
  });

  it('reads an empty Attributes line as no attributes', () => {
    expect(parseGetprinc('Principal: bob@CSCLUB.INTERNAL\nAttributes:\n')).toEqual({ name: 'bob@CSCLUB.INTERNAL', attributes: [] });
  });

  it('is null without a Principal line', () => {
    expect(parseGetprinc('Authenticating as principal ceod/admin with keytab x.\n')).toBeNull();
  });
});

describe('checkPrincipalName', () => {
  it.each(['alice', 'a1-b2', 'ceod/admin', 'host/phosphoric-acid.csclub.internal'])('accepts %j', (n) => {
    expect(() => checkPrincipalName(n)).not.toThrow();
  });

  it.each(['', 'Alice', '1abc', 'a b', 'a"b', "a'b", 'a\nb', 'a;delprinc b', 'a@OTHER.REALM', 'a/b/c', '-x', 'a/', 'x'.repeat(200)])(
    'refuses %j',
    (n) => {
      expect(() => checkPrincipalName(n)).toThrow(PermanentError);
    },
  );
});
