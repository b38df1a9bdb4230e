/**
 * The API's session cookie (`ceod_session`), kept between runs so a command
 * after the first needs no Kerberos handshake: one file per (API origin,
 * ticket cache) in `$XDG_CACHE_HOME/ceo/` (default `~/.cache/ceo/`), the
 * directory 0700 and the file 0600 (the cookie is a bearer credential until
 * it expires), written whole and renamed into place.
 *
 * Like a browser, the cookie is sent back only where its attributes allow
 * it: a `Secure` cookie only over https or to a loopback host.
 */
import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';

export const SESSION_COOKIE = 'ceod_session';

export interface StoredSession {
  origin: string;
  ccache: string;
  /** The ticket cache's fingerprint when the cookie was issued (./ccache.ts). */
  fingerprint: string;
  value: string;
  /** Milliseconds since the epoch. */
  expires: number;
  secure: boolean;
}

export function cacheDir(env: NodeJS.ProcessEnv, home: string): string {
  const base = env.XDG_CACHE_HOME && isAbsolute(env.XDG_CACHE_HOME) ? env.XDG_CACHE_HOME : join(home, '.cache');
  return join(base, 'ceo');
}

/** What a `Set-Cookie` header says about `ceod_session`: a new value, a removal, or nothing. */
export function parseSetCookie(headers: string[], now: number): { value: string; expires: number; secure: boolean } | 'cleared' | undefined {
  for (const h of headers) {
    const [pair, ...attrs] = h.split(';').map((s) => s.trim());
    const eq = pair!.indexOf('=');
    if (eq < 0 || pair!.slice(0, eq) !== SESSION_COOKIE) continue;
    const value = pair!.slice(eq + 1);
    let expires = now + 600_000;
    let secure = false;
    for (const a of attrs) {
      const [k, v = ''] = a.split('=');
      const key = k!.toLowerCase();
      if (key === 'max-age' && /^-?\d+$/.test(v)) expires = now + Number(v) * 1000;
      else if (key === 'expires' && !attrs.some((x) => /^max-age=/i.test(x))) expires = Date.parse(v) || expires;
      else if (key === 'secure') secure = true;
    }
    return value === '' || expires <= now ? 'cleared' : { value, expires, secure };
  }
  return undefined;
}

/** Whether a browser would send a cookie with these attributes to `origin`. */
export function mayCarry(s: Pick<StoredSession, 'secure'>, origin: string): boolean {
  if (!s.secure) return true;
  const u = new URL(origin);
  return u.protocol === 'https:' || ['localhost', '127.0.0.1', '[::1]'].includes(u.hostname);
}

/**
 * A short, stable file name for (origin, ticket cache): cyrb53, a 53-bit
 * string hash. Not a secret and not security-relevant (the directory is the
 * user's own, 0700); node:crypto would cost ~10 ms of start-up for it.
 */
export function fileKey(text: string): string {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (4294967296 * (2097151 & h2) + (h1 >>> 0)).toString(16).padStart(14, '0');
}

export class SessionStore {
  readonly file: string;

  constructor(
    readonly dir: string,
    private readonly origin: string,
    private readonly ccache: string,
  ) {
    this.file = join(dir, `session-${fileKey(`${origin}\n${ccache}`)}.json`);
  }

  /** The cookie to send, if one is kept for this origin and ticket cache, unexpired and issued under `fingerprint`. */
  load(fingerprint: string, now: number): string | undefined {
    let s: StoredSession;
    try {
      s = JSON.parse(readFileSync(this.file, 'utf8')) as StoredSession;
    } catch {
      return undefined;
    }
    if (s.origin !== this.origin || s.ccache !== this.ccache || s.fingerprint !== fingerprint || !(s.expires > now + 5_000) || !mayCarry(s, this.origin)) return undefined;
    return s.value;
  }

  save(cookie: { value: string; expires: number; secure: boolean }, fingerprint: string): void {
    if (!mayCarry(cookie, this.origin)) return; // it would never be sent back: do not keep a credential for nothing
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    chmodSync(this.dir, 0o700);
    const s: StoredSession = { origin: this.origin, ccache: this.ccache, fingerprint, ...cookie };
    const tmp = `${this.file}.${process.pid}.tmp`;
    rmSync(tmp, { force: true }); // a leftover of a killed run would keep its mode
    writeFileSync(tmp, JSON.stringify(s), { mode: 0o600, flag: 'wx' });
    renameSync(tmp, this.file);
  }

  drop(): void {
    rmSync(this.file, { force: true });
  }
}
