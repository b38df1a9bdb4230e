/**
 * Turns whatever ldapts throws into a PermanentError or TransientError.
 *
 * ldapts result errors extend `ResultCodeError` with a numeric `code` and often
 * an empty message, so the decision is by code. Socket-level failures are plain
 * `Error`s (or Node errors with a string `code` such as `ECONNREFUSED`) and are
 * recognised by that code or by ldapts' fixed messages.
 */
import { type CeoError, type ErrorCode, isCeoError, PermanentError, TransientError } from '../core/errors';

/** LDAP result codes (RFC 4511 §4.1.9) this adapter gives a meaning to. */
const RESULT_CODES: Record<number, { code: ErrorCode; permanent: boolean; text: string }> = {
  3: { code: 'TIMEOUT', permanent: false, text: 'time limit exceeded' },
  4: { code: 'LDAP_REFUSED', permanent: true, text: 'size limit exceeded' },
  8: { code: 'LDAP_REFUSED', permanent: true, text: 'strong authentication required' },
  13: { code: 'LDAP_REFUSED', permanent: true, text: 'confidentiality required' },
  16: { code: 'LDAP_INVALID_DATA', permanent: true, text: 'no such attribute' },
  17: { code: 'LDAP_INVALID_DATA', permanent: true, text: 'undefined attribute type' },
  18: { code: 'LDAP_INVALID_DATA', permanent: true, text: 'inappropriate matching' },
  19: { code: 'LDAP_CONSTRAINT_VIOLATION', permanent: true, text: 'constraint violation' },
  20: { code: 'LDAP_INVALID_DATA', permanent: true, text: 'attribute or value exists' },
  21: { code: 'LDAP_INVALID_DATA', permanent: true, text: 'invalid attribute syntax' },
  32: { code: 'NOT_FOUND', permanent: true, text: 'no such object' },
  34: { code: 'LDAP_INVALID_DATA', permanent: true, text: 'invalid DN syntax' },
  48: { code: 'LDAP_REFUSED', permanent: true, text: 'inappropriate authentication' },
  49: { code: 'LDAP_REFUSED', permanent: true, text: 'invalid credentials' },
  50: { code: 'LDAP_REFUSED', permanent: true, text: 'insufficient access rights' },
  51: { code: 'LDAP_UNAVAILABLE', permanent: false, text: 'server busy' },
  52: { code: 'LDAP_UNAVAILABLE', permanent: false, text: 'server unavailable' },
  53: { code: 'LDAP_REFUSED', permanent: true, text: 'unwilling to perform' },
  64: { code: 'LDAP_INVALID_DATA', permanent: true, text: 'naming violation' },
  65: { code: 'LDAP_INVALID_DATA', permanent: true, text: 'object class violation' },
  66: { code: 'LDAP_REFUSED', permanent: true, text: 'not allowed on non-leaf' },
  67: { code: 'LDAP_REFUSED', permanent: true, text: 'not allowed on RDN' },
  68: { code: 'LDAP_ALREADY_EXISTS', permanent: true, text: 'already exists' },
  69: { code: 'LDAP_INVALID_DATA', permanent: true, text: 'object class modifications prohibited' },
};

/** Node socket error codes that mean "the server is not there right now". */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ENOENT', // ldapi:// socket missing: slapd not running
]);

/**
 * Classifies an error thrown by ldapts during `what` (e.g. `add uid=alice,…`).
 * Already-classified errors pass through unchanged.
 */
export function classifyLdapError(err: unknown, what: string): CeoError {
  const e = (err ?? {}) as { name?: unknown; code?: unknown; message?: unknown };
  if (isCeoError(err)) return err;
  const detail = typeof e.message === 'string' ? e.message.trim() : '';
  if (typeof e.code === 'number') {
    const known = RESULT_CODES[e.code];
    const text = `${what}: ${known ? known.text : 'LDAP result'} (code ${e.code})`;
    // The server's result code travels as data (`serverCode`), never to be read back out of the message.
    const opts = { cause: err, serverCode: e.code };
    if (known) {
      return known.permanent ? new PermanentError(known.code, text, undefined, opts) : new TransientError(known.code, text, undefined, opts);
    }
    // Unknown result codes (other, loop detect, …) are retried, then roll back.
    return new TransientError('LDAP_UNAVAILABLE', text, undefined, opts);
  }
  const opts = { cause: err, ...(typeof e.code === 'string' ? { serverCode: e.code } : {}) };
  if (typeof e.code === 'string') {
    if (e.code === 'ETIMEDOUT') return new TransientError('TIMEOUT', `${what}: connection timed out`, undefined, opts);
    if (NETWORK_CODES.has(e.code)) return new TransientError('LDAP_UNAVAILABLE', `${what}: ${e.code}`, undefined, opts);
  }
  // ldapts's own socket-level failures carry no code, only fixed messages.
  if (/timed? ?out|timeout/i.test(detail)) return new TransientError('TIMEOUT', `${what}: ${firstLine(detail)}`, undefined, opts);
  if (/connection closed|socket|not established|ECONN|EPIPE/i.test(detail)) {
    return new TransientError('LDAP_UNAVAILABLE', `${what}: ${firstLine(detail)}`, undefined, opts);
  }
  return new TransientError('UNKNOWN', `${what}: ${firstLine(detail) || 'unexpected error'}`, undefined, opts);
}

function firstLine(s: string): string {
  return s.split('\n')[0]!.slice(0, 200);
}
