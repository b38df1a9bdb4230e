/**
 * What a Mailman 3 REST answer means. Pure, so it is unit tested without a server.
 *
 * Mailman answers errors as JSON `{ "title": "400 Bad Request", "description": "No such list" }`;
 * only the description is used in messages (never a header, never the URL's credentials).
 */
import { PermanentError, TransientError, type CeoError } from '../core/errors';

/** The `description` of a Mailman error body, or its first line; short, for messages. */
export function errorDetail(body: string): string {
  try {
    const parsed = JSON.parse(body) as { description?: unknown; title?: unknown };
    if (typeof parsed.description === 'string') return parsed.description.slice(0, 200);
    if (typeof parsed.title === 'string') return parsed.title.slice(0, 200);
  } catch {
    // Not JSON (a proxy's HTML page, say): fall through.
  }
  return body.split('\n')[0]!.trim().slice(0, 200);
}

/**
 * Classifies a non-success status of `what` (e.g. `subscribe x to y`).
 * Callers handle the statuses that mean success for them (409 on subscribe,
 * 404 on unsubscribe) before calling this.
 */
export function classifyMailmanStatus(status: number, body: string, what: string): CeoError {
  const detail = errorDetail(body);
  // A bare title ("404 Not Found") already starts with the status.
  const text = detail.startsWith(String(status)) ? `${what}: HTTP ${detail}` : `${what}: HTTP ${status}${detail ? ` ${detail}` : ''}`;
  const opts = { serverCode: status };
  // Mailman says "no such list" only in the text of a 400; a 404 is a missing list (or member: callers handle that first).
  if (status === 404 || (status === 400 && /no such list/i.test(detail))) {
    return new PermanentError('MAILMAN_NO_SUCH_LIST', text, undefined, opts);
  }
  if (status === 408 || status === 429 || status >= 500) return new TransientError('MAILMAN_UNAVAILABLE', text, undefined, opts);
  if (status >= 400) return new PermanentError('MAILMAN_REFUSED', text, undefined, opts);
  // 1xx/3xx/unexpected 2xx: retried, then rolled back.
  return new TransientError('UNKNOWN', text, undefined, opts);
}

/** Classifies a failed `fetch` (no HTTP answer at all): refused, reset, timed out. */
export function classifyFetchError(err: unknown, what: string): CeoError {
  const e = err as { name?: unknown; message?: unknown; cause?: { code?: unknown; message?: unknown } } | undefined;
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') return new TransientError('TIMEOUT', `${what}: timed out`, undefined, { cause: err });
  const cause = e?.cause;
  const code = typeof cause?.code === 'string' ? cause.code : undefined;
  const opts = { cause: err, serverCode: code };
  if (code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
    return new TransientError('TIMEOUT', `${what}: timed out (${code})`, undefined, opts);
  }
  return new TransientError('MAILMAN_UNAVAILABLE', `${what}: ${code ?? (typeof e?.message === 'string' ? e.message : 'request failed')}`, undefined, opts);
}
