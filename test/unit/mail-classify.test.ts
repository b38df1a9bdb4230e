import { classifySmtpError } from '../../src/mail/classify';
import { PermanentError, TransientError } from '../../src/core/errors';

const smtpErr = (props: Record<string, unknown>) => Object.assign(new Error('x'), props);

describe('classifySmtpError', () => {
  it.each([
    [{ code: 'EENVELOPE', responseCode: 550, response: '550 5.1.1 No such user' }, 'MAIL_REFUSED'],
    [{ code: 'EMESSAGE', responseCode: 554, response: '554 Transaction failed' }, 'MAIL_REFUSED'],
    [{ code: 'EAUTH' }, 'MAIL_REFUSED'],
    [{ code: 'EENVELOPE' }, 'MAIL_REFUSED'],
  ])('%j is permanent %s', (props, code) => {
    const c = classifySmtpError(smtpErr(props), 'send');
    expect(c).toBeInstanceOf(PermanentError);
    expect(c.code).toBe(code);
  });

  it.each([
    [{ code: 'EENVELOPE', responseCode: 451, response: '451 4.3.0 Try again later' }, 'MAIL_UNAVAILABLE'],
    [{ code: 'EENVELOPE', responseCode: 421, response: '421 Service not available' }, 'MAIL_UNAVAILABLE'],
    [{ code: 'EPROTOCOL', responseCode: 503, response: '503 Bad sequence of commands' }, 'MAIL_UNAVAILABLE'],
    [{ code: 'ESOCKET', errno: -111, syscall: 'connect' }, 'MAIL_UNAVAILABLE'],
    [{ code: 'ECONNECTION' }, 'MAIL_UNAVAILABLE'],
    [{ code: 'ETIMEDOUT' }, 'TIMEOUT'],
    [{}, 'UNKNOWN'],
  ])('%j is transient %s', (props, code) => {
    const c = classifySmtpError(smtpErr(props), 'send');
    expect(c).toBeInstanceOf(TransientError);
    expect(c.code).toBe(code);
  });

  it('quotes the server reply', () => {
    expect(classifySmtpError(smtpErr({ responseCode: 550, response: '550 5.1.1 No such user' }), 'send to x').message).toBe('send to x: 550 5.1.1 No such user');
  });
});
