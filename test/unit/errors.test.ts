import { classify, httpStatus, PermanentError, TransientError, withTimeout } from '../../src/core/errors';

describe('error classification', () => {
  it('keeps the meaning of our own errors', () => {
    expect(classify(new PermanentError('LDAP_ALREADY_EXISTS', 'x'))).toEqual({ code: 'LDAP_ALREADY_EXISTS', message: 'x', permanent: true });
    expect(classify(new TransientError('LDAP_UNAVAILABLE', 'y'))).toEqual({ code: 'LDAP_UNAVAILABLE', message: 'y', permanent: false });
  });

  it('decides by name, so an error that lost its prototype keeps its meaning', () => {
    const crossed = JSON.parse(JSON.stringify({ name: 'PermanentError', code: 'KRB5_PRINCIPAL_EXISTS', message: 'exists' }));
    expect(classify(crossed)).toEqual({ code: 'KRB5_PRINCIPAL_EXISTS', message: 'exists', permanent: true });
  });

  it('treats unknown errors as transient', () => {
    expect(classify(new Error('boom')).permanent).toBe(false);
    expect(classify('a string').permanent).toBe(false);
    expect(classify(Object.assign(new Error('econn'), { code: 'ECONNREFUSED' })).code).toBe('UNKNOWN');
  });

  it('maps codes to HTTP statuses in one table', () => {
    expect(httpStatus('BAD_REQUEST')).toBe(400);
    expect(httpStatus('CONFLICT')).toBe(409);
    expect(httpStatus('LDAP_UNAVAILABLE')).toBe(503);
    expect(httpStatus('NO_SUCH_CODE')).toBe(500);
  });

  it('times out slow work as a transient TIMEOUT and aborts it', async () => {
    let aborted = false;
    const slow = withTimeout('slow thing', 20, (signal) => new Promise((resolve) => signal.addEventListener('abort', () => { aborted = true; resolve(1); })));
    await expect(slow).rejects.toMatchObject({ name: 'TransientError', code: 'TIMEOUT' });
    expect(aborted).toBe(true);
    await expect(withTimeout('fast', 1000, async () => 42)).resolves.toBe(42);
  });
});

test("ioredis's fail-fast errors (Redis down or restarting) are transient REDIS_UNAVAILABLE", () => {
  const maxRetries = Object.assign(new Error('Reached the max retries per request limit (which is 2).'), { name: 'MaxRetriesPerRequestError' });
  expect(classify(maxRetries)).toMatchObject({ code: 'REDIS_UNAVAILABLE', permanent: false });
  expect(classify(new Error('Connection is closed.'))).toMatchObject({ code: 'REDIS_UNAVAILABLE', permanent: false });
  expect(classify(new Error('Connection is closed for good, said the bug')).code).toBe('UNKNOWN');
  expect(httpStatus('REDIS_UNAVAILABLE')).toBe(503);
});

test('Redis failing over (no master, a master turned replica, too few replicas) is a transient REDIS_UNAVAILABLE, never a 500', () => {
  const reply = (message: string) => Object.assign(new Error(message), { name: 'ReplyError' });
  for (const m of [
    'NOREPLICAS Not enough good replicas to write.',
    "READONLY You can't write against a read only replica.",
    'LOADING Redis is loading the dataset in memory',
    "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.",
    'UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)',
    'ERR Error running script (call to f_0123): @user_script:12: NOREPLICAS Not enough good replicas to write.',
  ]) {
    expect(classify(reply(m))).toMatchObject({ code: 'REDIS_UNAVAILABLE', permanent: false });
  }
  expect(classify(new Error('All sentinels are unreachable. Retrying from scratch after 100ms.'))).toMatchObject({ code: 'REDIS_UNAVAILABLE' });
  // Another reply error is not a failover.
  expect(classify(reply('ERR wrong number of arguments')).code).toBe('UNKNOWN');
  // A plain Error that merely mentions it is not ioredis's.
  expect(classify(new Error('READONLY file system')).code).toBe('UNKNOWN');
  expect(httpStatus('REDIS_NOT_REPLICATED')).toBe(503);
});
