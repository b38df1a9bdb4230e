/**
 * What a nodemailer failure means. Pure, so it is unit tested without a server.
 *
 * SMTP says it in the reply class: 5yz is a permanent refusal (except 503, a
 * command out of sequence, which a new connection cures), 4yz a temporary one.
 * Without a reply the connection failed: refused, reset, timed out.
 */
import { type CeoError, isCeoError, PermanentError, TransientError } from '../core/errors';

const CONNECTION_CODES = new Set(['ECONNECTION', 'ESOCKET', 'EDNS', 'ETLS', 'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'EPROTOCOL']);
const CONFIG_CODES = new Set(['EAUTH', 'ENOAUTH', 'ECONFIG', 'EREQUIRETLS', 'EMAXRECIPIENTS']);

export function classifySmtpError(err: unknown, what: string): CeoError {
  const e = (err ?? {}) as { name?: unknown; code?: unknown; responseCode?: unknown; response?: unknown; message?: unknown };
  if (isCeoError(err)) return err;
  const code = typeof e.code === 'string' ? e.code : undefined;
  const opts = { cause: err, serverCode: typeof e.responseCode === 'number' ? e.responseCode : code };
  const reply = typeof e.response === 'string' ? e.response.split('\n')[0]!.slice(0, 200) : '';
  if (typeof e.responseCode === 'number') {
    const rc = e.responseCode;
    const text = `${what}: ${reply || `SMTP ${rc}`}`;
    if (rc >= 500 && rc !== 503) return new PermanentError('MAIL_REFUSED', text, undefined, opts);
    return new TransientError('MAIL_UNAVAILABLE', text, undefined, opts);
  }
  if (code === 'ETIMEDOUT') return new TransientError('TIMEOUT', `${what}: timed out`, undefined, opts);
  if (code && CONNECTION_CODES.has(code)) return new TransientError('MAIL_UNAVAILABLE', `${what}: ${code}${message(e)}`, undefined, opts);
  if (code && CONFIG_CODES.has(code)) return new PermanentError('MAIL_REFUSED', `${what}: ${code}${message(e)}`, undefined, opts);
  if (code === 'EENVELOPE') return new PermanentError('MAIL_REFUSED', `${what}: bad envelope${message(e)}`, undefined, opts);
  return new TransientError('UNKNOWN', `${what}: ${code ?? 'error'}${message(e)}`, undefined, opts);
}

function message(e: { message?: unknown }): string {
  return typeof e.message === 'string' && e.message ? ` (${e.message.split('\n')[0]!.slice(0, 160)})` : '';
}
