import { classifyFetchError, classifyMailmanStatus, errorDetail } from '../../src/mailman/classify';
import { checkAddress, checkListName } from '../../src/mailman/mailman';
import { PermanentError, TransientError } from '../../src/core/errors';

const body = (description: string) => JSON.stringify({ title: '400 Bad Request', description });

describe('classifyMailmanStatus', () => {
  it.each([
    [400, body('No such list'), 'MAILMAN_NO_SUCH_LIST', true],
    [404, '{"title": "404 Not Found"}', 'MAILMAN_NO_SUCH_LIST', true],
    [400, body('Invalid email address'), 'MAILMAN_REFUSED', true],
    [401, '{"title": "401 Unauthorized", "description": "User is not authorized for the REST API"}', 'MAILMAN_REFUSED', true],
    [403, '', 'MAILMAN_REFUSED', true],
    [500, '<html>Internal Server Error</html>', 'MAILMAN_UNAVAILABLE', false],
    [502, '', 'MAILMAN_UNAVAILABLE', false],
    [503, '', 'MAILMAN_UNAVAILABLE', false],
    [429, '', 'MAILMAN_UNAVAILABLE', false],
    [302, '', 'UNKNOWN', false],
  ])('%i %j is %s', (status, text, code, permanent) => {
    const err = classifyMailmanStatus(status, text, 'subscribe a@b to x');
    expect(err.code).toBe(code);
    expect(err.permanent).toBe(permanent);
    expect(err.message).toContain('subscribe a@b to x');
  });

  it('uses the description of a JSON body, else its first line', () => {
    expect(errorDetail(body('Member already subscribed'))).toBe('Member already subscribed');
    expect(errorDetail('plain text\nmore')).toBe('plain text');
  });
});

describe('classifyFetchError', () => {
  it('is TIMEOUT when the AbortSignal timed out', () => {
    const e = new DOMException('The operation was aborted due to timeout', 'TimeoutError');
    const c = classifyFetchError(e, 'ping');
    expect(c).toBeInstanceOf(TransientError);
    expect(c.code).toBe('TIMEOUT');
  });

  it('is MAILMAN_UNAVAILABLE when the connection is refused', () => {
    const e = new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8001'), { code: 'ECONNREFUSED' }) });
    const c = classifyFetchError(e, 'ping');
    expect(c).toBeInstanceOf(TransientError);
    expect(c.code).toBe('MAILMAN_UNAVAILABLE');
    expect(c.message).toContain('ECONNREFUSED');
  });
});

describe('list names and addresses', () => {
  it.each(['csc-general', 'new-members', 'syscom.alerts', 'a', '9lives', 'x_y'])('accepts list %j', (n) => {
    expect(() => checkListName(n)).not.toThrow();
  });
  it.each(['', 'Upper', '../lists', 'a..b', 'a/b', 'a?x=1', 'a#b', 'a%2f', '-x', '.x', 'a b'])('refuses list %j', (n) => {
    expect(() => checkListName(n)).toThrow(PermanentError);
  });
  it.each(['alice@csclub.internal', 'a.b+tag@example.org'])('accepts address %j', (a) => {
    expect(() => checkAddress(a)).not.toThrow();
  });
  it.each(['alice', 'a b@x', 'a@b/c', '../x@y', 'a@', '@b', 'a@b\n', 'Alice <a@b>'])('refuses address %j', (a) => {
    expect(() => checkAddress(a)).toThrow(PermanentError);
  });
});
