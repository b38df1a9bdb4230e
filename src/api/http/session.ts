/**
 * Session cookies, as FreeIPA does it: after a successful SPNEGO handshake the
 * API hands out a signed, short-lived cookie, and later requests that carry it
 * skip the handshake (a GSS accept per request is the larger part of an
 * authenticated request's cost; BENCHMARKS.md, scenario 4).
 *
 * The cookie says only who authenticated, and until when:
 * `v1.<base64url(JSON {p, u, iat, exp})>.<base64url(HMAC-SHA256)>`. Roles are
 * never in it: they still come from LDAP (the RoleCache), so a removed group or
 * a deleted account takes effect within the cache's TTL. The HMAC key is derived
 * (HKDF) from the secrets key every host shares, so any API host accepts a
 * cookie another one issued, and rotating that key ends every session.
 */
import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';

export const SESSION_COOKIE = 'ceod_session';
const VERSION = 'v1';
/** Hosts' clocks may differ a little; a cookie "issued" further in the future than this is refused. */
const CLOCK_SKEW_S = 60;

export interface Session {
  /** The Kerberos principal that completed the handshake, e.g. `ctdalek@CSCLUB.INTERNAL`. */
  principal: string;
  uid: string;
  /** Issued at / expires at, in seconds since the epoch. */
  iat: number;
  exp: number;
  /** The user's session generation when it was issued (docs/authorization.md#sessions); 0 if absent. */
  gen?: number;
}

/** Why a cookie was refused; for logs and tests, never shown with the cookie's value. */
export type SessionRefusal = 'malformed' | 'bad_signature' | 'expired' | 'not_yet_valid';

export type SessionCheck = { ok: true; session: Session } | { ok: false; reason: SessionRefusal };

/** The cookie-signing key: HKDF-SHA256 of the shared secrets key, for this purpose only. */
export function deriveSessionKey(secretsKey: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', secretsKey, Buffer.alloc(0), 'ceod session cookie v1', 32));
}

const mac = (key: Buffer, body: string): Buffer => createHmac('sha256', key).update(`${VERSION}.${body}`).digest();

export function signSession(key: Buffer, s: Session): string {
  const body = Buffer.from(JSON.stringify({ p: s.principal, u: s.uid, iat: s.iat, exp: s.exp, ...(s.gen ? { g: s.gen } : {}) }), 'utf8').toString('base64url');
  return `${VERSION}.${body}.${mac(key, body).toString('base64url')}`;
}

/**
 * Checks a cookie value: signature first (timing-safe), then its times.
 * `maxTtlS` caps the lifetime whatever the cookie says, so shortening the
 * configured TTL also shortens sessions already handed out.
 */
export function verifySession(key: Buffer, value: string, nowS: number, maxTtlS: number): SessionCheck {
  const parts = value.split('.');
  if (parts.length !== 3 || parts[0] !== VERSION) return { ok: false, reason: 'malformed' };
  const [, body, sig] = parts as [string, string, string];
  if (!/^[A-Za-z0-9_-]{1,2048}$/.test(body) || !/^[A-Za-z0-9_-]{43}$/.test(sig)) return { ok: false, reason: 'malformed' };
  const given = Buffer.from(sig, 'base64url');
  const expected = mac(key, body);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'bad_signature' };
  let claims: unknown;
  try {
    claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  const c = claims as { p?: unknown; u?: unknown; iat?: unknown; exp?: unknown; g?: unknown };
  if (typeof c.p !== 'string' || typeof c.u !== 'string' || !Number.isInteger(c.iat) || !Number.isInteger(c.exp)) {
    return { ok: false, reason: 'malformed' };
  }
  if (c.g !== undefined && !Number.isInteger(c.g)) return { ok: false, reason: 'malformed' };
  const iat = c.iat as number;
  const exp = c.exp as number;
  if (iat > nowS + CLOCK_SKEW_S) return { ok: false, reason: 'not_yet_valid' };
  if (nowS >= Math.min(exp, iat + maxTtlS)) return { ok: false, reason: 'expired' };
  return { ok: true, session: { principal: c.p, uid: c.u, iat, exp, gen: (c.g as number | undefined) ?? 0 } };
}

/** The value of the first `name` cookie in a Cookie header, if any. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1');
  }
  return undefined;
}

export interface CookieAttributes {
  maxAgeS: number;
  secure: boolean;
  /**
   * Where the client sends it back: `/api` (the default) for the API,
   * `/admin/queues` for the queue dashboard (docs/authorization.md#operations-pages). The
   * value is the same kind of cookie either way; the path only says which
   * requests carry it.
   */
  path?: string;
}

/** A Set-Cookie header value: HttpOnly, SameSite=Strict, only for its path (`/api` by default). */
export function setCookieHeader(value: string, a: CookieAttributes): string {
  return `${SESSION_COOKIE}=${value}; Max-Age=${a.maxAgeS}; Path=${a.path ?? '/api'}; HttpOnly; SameSite=Strict${a.secure ? '; Secure' : ''}`;
}

/** A Set-Cookie header value that makes the client drop a refused cookie (of that path). */
export function clearCookieHeader(secure: boolean, path?: string): string {
  return setCookieHeader('', { maxAgeS: 0, secure, path });
}
