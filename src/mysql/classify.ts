/**
 * What a mysql2 failure means. Pure, so it is unit tested without a server.
 *
 * mysql2's errors carry the server's error name in `code` (`ER_ACCESS_DENIED_ERROR`),
 * its number in `errno`, or a Node socket code (`ECONNREFUSED`) when there was
 * no answer; and the whole statement in `sql`. Nothing of the statement leaves
 * here: the message is rebuilt from the server's text with any quoted
 * statement text (`near '…'`) cut out, and the cause kept for logs is a copy
 * without `sql`.
 */
import { type CeoError, isCeoError, PermanentError, TransientError } from '../core/errors';

/** No answer, a dropped connection, a server going away or out of room: worth retrying. */
const UNAVAILABLE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_ENQUEUE_AFTER_FATAL_ERROR',
  'PROTOCOL_ENQUEUE_AFTER_QUIT',
  'ER_CON_COUNT_ERROR', // 1040: too many connections
  'ER_TOO_MANY_USER_CONNECTIONS', // 1203
  'ER_LOCK_DEADLOCK', // 1213
  'ER_LOCK_WAIT_TIMEOUT', // 1205 (also lock_wait_timeout on metadata locks)
  'ER_SERVER_SHUTDOWN', // 1053
  'ER_CONNECTION_KILLED', // 1927 (MariaDB)
  'ER_QUERY_INTERRUPTED', // 1317
  'ER_OUT_OF_RESOURCES', // 1041
  'ER_CANT_CREATE_THREAD', // 1135
  'ER_HOST_IS_BLOCKED', // 1129: cleared by FLUSH HOSTS, or in time
  'ER_LOCK_TABLE_FULL', // 1206
]);

/** Socket deadlines. */
const TIMEOUTS = new Set(['ETIMEDOUT', 'PROTOCOL_SEQUENCE_TIMEOUT']);

/** Refusals retrying cannot cure: rights, identifiers, syntax. */
const REFUSED = new Set([
  'ER_ACCESS_DENIED_ERROR', // 1045: the admin's password is wrong
  'ER_DBACCESS_DENIED_ERROR', // 1044
  'ER_SPECIFIC_ACCESS_DENIED_ERROR', // 1227
  'ER_TABLEACCESS_DENIED_ERROR', // 1142
  'ER_ACCESS_DENIED_NO_PASSWORD_ERROR', // 1698
  'ER_PASSWORD_NO_MATCH', // 1133
  'ER_PASSWORD_FORMAT', // 1372
  'ER_WRONG_DB_NAME', // 1102
  'ER_WRONG_USER', // 1470 (MariaDB: a user name too long)
  'ER_WRONG_STRING_LENGTH', // 1470 (MySQL)
  'ER_PARSE_ERROR', // 1064
  'ER_SYNTAX_ERROR', // 1149
  'ER_CANNOT_USER', // 1396: an account statement the server would not carry out
  'ER_DBACCESS_DENIED', // older name of 1044
  'ER_NOT_SUPPORTED_AUTH_MODE', // 1251
  'ER_PLUGIN_IS_NOT_LOADED', // 1524
  'ER_OPTION_PREVENTS_STATEMENT', // 1290 (read-only server)
]);

/** Quoted statement text a server message echoes (`near 'IDENTIFIED BY …' at line 1`). */
const NEAR = /\s*near '(?:[^'\\]|\\.|'')*'?(?: at line \d+)?/gi;
/** A password hash or verifier, wherever it appears. */
const HASH = /\*[0-9A-Fa-f]{40}|SCRAM-SHA-256\$[^\s'"]+/g;

/**
 * A server or driver message safe to show and log: first line, statement text
 * cut out, any of `secrets` (and anything shaped like a password hash)
 * replaced, at most 200 characters.
 */
export function redactMessage(message: string, secrets: readonly string[] = []): string {
  let m = message.split('\n')[0]!.replace(NEAR, ' (statement text hidden)').replace(HASH, '[redacted]');
  for (const s of secrets) if (s) m = m.split(s).join('[redacted]');
  return m.slice(0, 200);
}

interface MysqlErrorLike {
  name?: unknown;
  code?: unknown;
  errno?: unknown;
  sqlState?: unknown;
  sqlMessage?: unknown;
  message?: unknown;
}

/**
 * Classifies a failure of `what` (e.g. `create MySQL database alice1`). The
 * server's error name (or errno, or the socket code) travels as `serverCode`.
 */
export function classifyMysqlError(err: unknown, what: string, secrets: readonly string[] = []): CeoError {
  if (isCeoError(err)) return err;
  const e = (err ?? {}) as MysqlErrorLike;
  const code = typeof e.code === 'string' ? e.code : undefined;
  const errno = typeof e.errno === 'number' ? e.errno : undefined;
  const raw = typeof e.sqlMessage === 'string' ? e.sqlMessage : typeof e.message === 'string' ? e.message : String(err);
  const detail = redactMessage(raw, secrets);
  // Only what is safe to keep: never `sql`, never the raw message.
  const cause = Object.assign(new Error(detail), { code, errno, sqlState: typeof e.sqlState === 'string' ? e.sqlState : undefined });
  const opts = { cause, serverCode: code ?? errno };
  const text = `${what}: ${code && !detail.includes(code) ? `${code}: ` : ''}${detail}`;
  if (code && TIMEOUTS.has(code)) return new TransientError('TIMEOUT', text, undefined, opts);
  if (code && UNAVAILABLE.has(code)) return new TransientError('DB_UNAVAILABLE', text, undefined, opts);
  // mysql2 says this (with no code) when a pooled connection died under it.
  if (/closed state|connection is closed|Pool is closed/i.test(raw)) return new TransientError('DB_UNAVAILABLE', text, undefined, opts);
  if (code === 'ER_DB_CREATE_EXISTS') return new PermanentError('DB_EXISTS', text, undefined, opts);
  if (code === 'ER_BAD_DB_ERROR' || code === 'ER_DB_DROP_EXISTS') return new PermanentError('DB_NO_SUCH_DATABASE', text, undefined, opts);
  if (code && REFUSED.has(code)) return new PermanentError('DB_REFUSED', text, undefined, opts);
  return new TransientError('UNKNOWN', text, undefined, opts);
}
