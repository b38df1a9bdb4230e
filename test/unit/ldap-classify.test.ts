import {
  AlreadyExistsError,
  BusyError,
  ConstraintViolationError,
  InsufficientAccessError,
  InvalidCredentialsError,
  InvalidDNSyntaxError,
  InvalidSyntaxError,
  NoSuchObjectError,
  ObjectClassViolationError,
  ResultCodeError,
  UndefinedTypeError,
  UnwillingToPerformError,
} from 'ldapts';
import { classifyLdapError } from '../../src/ldap/classify';
import { PermanentError, TransientError } from '../../src/core/errors';

/** Result code 80 ("other") has no class of its own in ldapts. */
class OtherError extends ResultCodeError {
  constructor() {
    super(80, 'other');
  }
}

describe('classifyLdapError', () => {
  it.each([
    [new AlreadyExistsError(), 'LDAP_ALREADY_EXISTS'],
    [new NoSuchObjectError(), 'NOT_FOUND'],
    [new ConstraintViolationError(), 'LDAP_CONSTRAINT_VIOLATION'],
    [new ObjectClassViolationError(), 'LDAP_INVALID_DATA'],
    [new InvalidSyntaxError(), 'LDAP_INVALID_DATA'],
    [new UndefinedTypeError(), 'LDAP_INVALID_DATA'],
    [new InvalidDNSyntaxError(), 'LDAP_INVALID_DATA'],
    [new InvalidCredentialsError(), 'LDAP_REFUSED'],
    [new InsufficientAccessError(), 'LDAP_REFUSED'],
    [new UnwillingToPerformError(), 'LDAP_REFUSED'],
  ])('%p is permanent %s', (err, code) => {
    const c = classifyLdapError(err, 'add uid=x');
    expect(c).toBeInstanceOf(PermanentError);
    expect(c.code).toBe(code);
    expect(c.message).toContain('add uid=x');
  });

  it('classifies by numeric code even when the message is empty', () => {
    const c = classifyLdapError(Object.assign(new Error(''), { code: 68 }), 'add');
    expect(c.code).toBe('LDAP_ALREADY_EXISTS');
    expect(c.permanent).toBe(true);
  });

  it.each([
    [new BusyError(), 'LDAP_UNAVAILABLE'],
    [new OtherError(), 'LDAP_UNAVAILABLE'],
    [Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:389'), { code: 'ECONNREFUSED' }), 'LDAP_UNAVAILABLE'],
    [Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }), 'LDAP_UNAVAILABLE'],
    [new Error('Connection closed before message response was received. Message type: AddRequest (0x68)'), 'LDAP_UNAVAILABLE'],
    [new Error('Socket connection not established'), 'LDAP_UNAVAILABLE'],
    [new Error('AddRequest: Operation timed out'), 'TIMEOUT'],
    [new Error('Connection timeout'), 'TIMEOUT'],
    [new Error('something nobody expected'), 'UNKNOWN'],
  ])('%p is transient %s', (err, code) => {
    const c = classifyLdapError(err, 'op');
    expect(c).toBeInstanceOf(TransientError);
    expect(c.code).toBe(code);
  });

  it('passes classified errors through', () => {
    const e = new PermanentError('LDAP_INVALID_DATA', 'bad');
    expect(classifyLdapError(e, 'op')).toBe(e);
  });
});
