/** What mysql2's and pg's failures mean, and that no statement text or password survives into a message. */
import { classifyMysqlError, grantPattern, nativePasswordHash, redactMessage } from '../../src/mysql';
import { classifyPgError, scramVerifier } from '../../src/postgresql';

/** A mysql2 error as the driver makes it: the whole statement in `sql`. */
const mysqlError = (code: string, errno: number, sqlMessage: string) =>
  Object.assign(new Error(sqlMessage), { code, errno, sqlState: 'HY000', sqlMessage, sql: "ALTER USER 'a'@'%' IDENTIFIED BY PASSWORD '*0123456789ABCDEF0123456789ABCDEF01234567'", fatal: false });

describe('classifyMysqlError', () => {
  it.each([
    ['ECONNREFUSED', 'DB_UNAVAILABLE', false],
    ['PROTOCOL_CONNECTION_LOST', 'DB_UNAVAILABLE', false],
    ['ER_CON_COUNT_ERROR', 'DB_UNAVAILABLE', false],
    ['ER_TOO_MANY_USER_CONNECTIONS', 'DB_UNAVAILABLE', false],
    ['ER_LOCK_DEADLOCK', 'DB_UNAVAILABLE', false],
    ['ER_LOCK_WAIT_TIMEOUT', 'DB_UNAVAILABLE', false],
    ['ER_SERVER_SHUTDOWN', 'DB_UNAVAILABLE', false],
    ['ETIMEDOUT', 'TIMEOUT', false],
    ['ER_ACCESS_DENIED_ERROR', 'DB_REFUSED', true],
    ['ER_DBACCESS_DENIED_ERROR', 'DB_REFUSED', true],
    ['ER_SPECIFIC_ACCESS_DENIED_ERROR', 'DB_REFUSED', true],
    ['ER_WRONG_DB_NAME', 'DB_REFUSED', true],
    ['ER_PARSE_ERROR', 'DB_REFUSED', true],
    ['ER_CANNOT_USER', 'DB_REFUSED', true],
    ['ER_DB_CREATE_EXISTS', 'DB_EXISTS', true],
    ['ER_BAD_DB_ERROR', 'DB_NO_SUCH_DATABASE', true],
    ['ER_SOMETHING_NEW', 'UNKNOWN', false],
  ])('%s is %s', (code, expected, permanent) => {
    const err = classifyMysqlError(mysqlError(code, 1, 'it failed'), 'create MySQL database a');
    expect([err.code, err.permanent, err.serverCode]).toEqual([expected, permanent, code]);
    expect(err.message).toMatch(/^create MySQL database a: /);
  });

  it('a pooled connection that died under us is transient', () => {
    expect(classifyMysqlError(new Error("Can't add new command when connection is in closed state"), 'x').code).toBe('DB_UNAVAILABLE');
  });

  it('cuts the statement text the server quotes, and keeps no `sql` in the cause', () => {
    const e = mysqlError('ER_PARSE_ERROR', 1064, "You have an error in your SQL syntax; check the manual near 'IDENTIFIED BY PASSWORD '*0123456789ABCDEF0123456789ABCDEF01234567'' at line 1");
    const err = classifyMysqlError(e, 'create MySQL database a', ['hunter2hunter2']);
    expect(err.message).not.toMatch(/IDENTIFIED|0123456789ABCDEF/);
    expect(err.message).toContain('statement text hidden');
    expect(JSON.stringify(err.cause)).not.toContain('IDENTIFIED');
    expect((err.cause as Record<string, unknown>).sql).toBeUndefined();
  });

  it('replaces a known secret and anything shaped like a hash', () => {
    expect(redactMessage("bad password 'hunter2hunter2' and *0123456789ABCDEF0123456789ABCDEF01234567", ['hunter2hunter2'])).toBe("bad password '[redacted]' and [redacted]");
  });
});

describe('classifyPgError', () => {
  const pgError = (code: string, message: string) => Object.assign(new Error(message), { code, severity: 'ERROR' });
  it.each([
    ['ECONNREFUSED', 'DB_UNAVAILABLE', false],
    ['08006', 'DB_UNAVAILABLE', false],
    ['53300', 'DB_UNAVAILABLE', false],
    ['57P01', 'DB_UNAVAILABLE', false],
    ['57P03', 'DB_UNAVAILABLE', false],
    ['40P01', 'DB_UNAVAILABLE', false],
    ['55P03', 'DB_UNAVAILABLE', false],
    ['57014', 'TIMEOUT', false],
    ['28P01', 'DB_REFUSED', true],
    ['28000', 'DB_REFUSED', true],
    ['42501', 'DB_REFUSED', true],
    ['42602', 'DB_REFUSED', true],
    ['42601', 'DB_REFUSED', true],
    ['42939', 'DB_REFUSED', true],
    ['2BP01', 'DB_REFUSED', true],
    ['42P04', 'DB_EXISTS', true],
    ['42710', 'DB_EXISTS', true],
    ['3D000', 'DB_NO_SUCH_DATABASE', true],
    ['XX000', 'UNKNOWN', false],
  ])('%s is %s', (code, expected, permanent) => {
    const err = classifyPgError(pgError(code, 'it failed'), 'create PostgreSQL database a');
    expect([err.code, err.permanent, err.serverCode]).toEqual([expected, permanent, code]);
  });

  it.each(['Connection terminated unexpectedly', 'timeout exceeded when trying to connect', 'Query read timeout'])('%j without a code is transient', (message) => {
    expect(classifyPgError(new Error(message), 'x').permanent).toBe(false);
  });

  it('never shows a verifier', () => {
    const v = scramVerifier('hunter2hunter2');
    const err = classifyPgError(pgError('42601', `syntax error at or near "${v}"`), 'x', ['hunter2hunter2']);
    expect(err.message).not.toContain(v);
    expect(err.message).toContain('[redacted]');
  });
});

describe('what reaches the servers instead of a password', () => {
  it('MariaDB: mysql_native_password hash (as PASSWORD() computes it)', () => {
    expect(nativePasswordHash('password')).toBe('*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19');
  });

  it('PostgreSQL: a SCRAM-SHA-256 verifier with a fresh salt', () => {
    const [a, b] = [scramVerifier('pw'), scramVerifier('pw')];
    expect(a).toMatch(/^SCRAM-SHA-256\$4096:[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$/);
    expect(a).not.toBe(b);
  });

  it('a GRANT pattern matches only its own database: _ and % escaped', () => {
    expect(grantPattern('test_1')).toBe('test\\_1');
    expect(grantPattern('a-b')).toBe('a-b');
  });
});
