/**
 * What a pg failure means. Pure, so it is unit tested without a server.
 *
 * pg's server errors carry the SQLSTATE in `code` (`28P01`, `42P04`); a Node
 * socket code (`ECONNREFUSED`) or a bare message ("Connection terminated
 * unexpectedly", "timeout exceeded when trying to connect") means there was no
 * answer. Messages are redacted before they become ours: no statement text,
 * no password verifier.
 */
import { type CeoError, isCeoError, PermanentError, TransientError } from '../core/errors';

const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND']);

/** SQLSTATEs worth retrying: the server starting, stopping, full, or a lock it could not get in time. */
const TRANSIENT_STATES = new Set([
  '53300', // too_many_connections
  '53000', // insufficient_resources
  '53100', // disk_full
  '53200', // out_of_memory
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now (starting up, or shutting down)
  '40P01', // deadlock_detected
  '40001', // serialization_failure
  '55P03', // lock_not_available (lock_timeout)
  '55006', // object_in_use (a database someone is connected to, on older servers)
  '58000', // system_error
  '58030', // io_error
]);

/** SQLSTATEs that say no for good: rights, names, syntax. */
const REFUSED_STATES = new Set([
  '28P01', // invalid_password
  '28000', // invalid_authorization_specification (pg_hba)
  '42501', // insufficient_privilege
  '42602', // invalid_name
  '42601', // syntax_error
  '42939', // reserved_name (a role named public, pg_…)
  '2BP01', // dependent_objects_still_exist
  '0LP01', // invalid_grant_operation
  '42622', // name_too_long
  '25006', // read_only_sql_transaction
]);

/** A verifier, or anything a server might quote from the statement. */
const HASH = /SCRAM-SHA-256\$[^\s'"]+|md5[0-9a-f]{32}/g;

/** A message safe to show and log: first line, verifiers and `secrets` replaced, at most 200 characters. */
export function redactMessage(message: string, secrets: readonly string[] = []): string {
  let m = message.split('\n')[0]!.replace(HASH, '[redacted]');
  for (const s of secrets) if (s) m = m.split(s).join('[redacted]');
  return m.slice(0, 200);
}

interface PgErrorLike {
  code?: unknown;
  message?: unknown;
  severity?: unknown;
}

/** Classifies a failure of `what`; the SQLSTATE (or socket code) travels as `serverCode`. */
export function classifyPgError(err: unknown, what: string, secrets: readonly string[] = []): CeoError {
  if (isCeoError(err)) return err;
  const e = (err ?? {}) as PgErrorLike;
  const code = typeof e.code === 'string' ? e.code : undefined;
  const raw = typeof e.message === 'string' ? e.message : String(err);
  const detail = redactMessage(raw, secrets);
  // Never the raw error: pg's may carry `internalQuery`, `where`, the statement's position.
  const cause = Object.assign(new Error(detail), { code });
  const opts = { cause, serverCode: code };
  const text = `${what}: ${code ? `${code}: ` : ''}${detail}`;
  if (code === '57014' || code === 'ETIMEDOUT' || /timeout exceeded|Query read timeout|timed out/i.test(raw)) {
    return new TransientError('TIMEOUT', text, undefined, opts);
  }
  if (code && (SOCKET_CODES.has(code) || code.startsWith('08') || TRANSIENT_STATES.has(code))) {
    return new TransientError('DB_UNAVAILABLE', text, undefined, opts);
  }
  if (!code && /Connection terminated|terminating connection|Client has encountered a connection error|not queryable|Cannot use a pool after calling end/i.test(raw)) {
    return new TransientError('DB_UNAVAILABLE', text, undefined, opts);
  }
  if (code === '42P04' || code === '42710') return new PermanentError('DB_EXISTS', text, undefined, opts);
  if (code === '3D000' || code === '42704') return new PermanentError('DB_NO_SUCH_DATABASE', text, undefined, opts);
  if (code && REFUSED_STATES.has(code)) return new PermanentError('DB_REFUSED', text, undefined, opts);
  return new TransientError('UNKNOWN', text, undefined, opts);
}
