/**
 * Session cookies: signing and checking (./src/api/session.ts), and the auth
 * hook that issues and accepts them, with a fake SPNEGO authenticator and a
 * fake directory (no socket, no server).
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { PermanentError, httpStatus } from '../../src/core/errors';
import { createLogger } from '../../src/core/log';
import { makeAuthHook, RoleCache, type SessionOptions } from '../../src/api/http/auth';
import { cookieValue, deriveSessionKey, SESSION_COOKIE, signSession, verifySession } from '../../src/api/http/session';
import type { Ldap } from '../../src/core/ports';
import { MemorySessions } from '../fakes/ports';

const REALM = 'CSCLUB.INTERNAL';
const secretsKey = randomBytes(32);
const key = deriveSessionKey(secretsKey);
const T0 = 1_800_000_000; // seconds
const session = { principal: `alice1@${REALM}`, uid: 'alice1', iat: T0, exp: T0 + 600 };

/** Flips one character of a base64url string to another valid one. */
const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);

describe('session cookie values', () => {
  it('round-trips principal, uid, times and the session generation (0 when absent)', () => {
    const v = signSession(key, session);
    expect(v).toMatch(/^v1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
    expect(verifySession(key, v, T0 + 1, 600)).toEqual({ ok: true, session: { ...session, gen: 0 } });
    expect(verifySession(key, signSession(key, { ...session, gen: 3 }), T0 + 1, 600)).toEqual({ ok: true, session: { ...session, gen: 3 } });
  });

  it('derives a key of its own: not the secrets key, the same on every host', () => {
    expect(key.equals(secretsKey)).toBe(false);
    expect(deriveSessionKey(Buffer.from(secretsKey)).equals(key)).toBe(true);
  });

  it('refuses a tampered payload or signature', () => {
    const [v1, body, sig] = signSession(key, session).split('.') as [string, string, string];
    const forged = Buffer.from(JSON.stringify({ p: `ctdalek@${REALM}`, u: 'ctdalek', iat: T0, exp: T0 + 600 })).toString('base64url');
    expect(verifySession(key, `${v1}.${forged}.${sig}`, T0 + 1, 600)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(verifySession(key, `${v1}.${flip(body, 3)}.${sig}`, T0 + 1, 600)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(verifySession(key, `${v1}.${body}.${flip(sig, 10)}`, T0 + 1, 600)).toEqual({ ok: false, reason: 'bad_signature' });
  });

  it('refuses a cookie signed with another key', () => {
    const other = signSession(deriveSessionKey(randomBytes(32)), session);
    expect(verifySession(key, other, T0 + 1, 600)).toEqual({ ok: false, reason: 'bad_signature' });
  });

  it('refuses an expired cookie, and caps its lifetime at the configured TTL', () => {
    const v = signSession(key, session);
    expect(verifySession(key, v, T0 + 599, 600).ok).toBe(true);
    expect(verifySession(key, v, T0 + 600, 600)).toEqual({ ok: false, reason: 'expired' });
    // The TTL was shortened to 60 s since the cookie was issued.
    expect(verifySession(key, v, T0 + 61, 60)).toEqual({ ok: false, reason: 'expired' });
  });

  it('refuses a cookie issued in the future beyond clock skew', () => {
    const v = signSession(key, { ...session, iat: T0 + 3600, exp: T0 + 4200 });
    expect(verifySession(key, v, T0, 600)).toEqual({ ok: false, reason: 'not_yet_valid' });
  });

  it.each([
    ['empty', ''],
    ['no dots', 'garbage'],
    ['wrong version', `v2.${signSession(key, session).slice(3)}`],
    ['four parts', `${signSession(key, session)}.x`],
    ['short signature', 'v1.eyJ9.abc'],
    ['not base64url', 'v1.a*b.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'],
    ['huge', `v1.${'A'.repeat(5000)}.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA`],
  ])('refuses a malformed cookie (%s) without throwing', (_what, value) => {
    expect(verifySession(key, value, T0, 600)).toEqual({ ok: false, reason: 'malformed' });
  });

  it('refuses well-signed claims of the wrong shape', () => {
    // Signed with the right key, so only the shape check can refuse it.
    const body = Buffer.from(JSON.stringify({ p: 1, u: 'alice1', iat: T0, exp: T0 + 600 })).toString('base64url');
    const sig = signSession(key, session).split('.')[2]!;
    const good = createHmac('sha256', key).update(`v1.${body}`).digest('base64url');
    expect(verifySession(key, `v1.${body}.${good}`, T0 + 1, 600)).toEqual({ ok: false, reason: 'malformed' });
    expect(verifySession(key, `v1.${body}.${sig}`, T0 + 1, 600)).toEqual({ ok: false, reason: 'bad_signature' });
  });

  it('finds its cookie among others', () => {
    expect(cookieValue(`a=1; ${SESSION_COOKIE}=v1.x.y; b=2`, SESSION_COOKIE)).toBe('v1.x.y');
    expect(cookieValue('a=1', SESSION_COOKIE)).toBeUndefined();
    expect(cookieValue(undefined, SESSION_COOKIE)).toBeUndefined();
  });
});

// ------------------------------------------------------------------ the hook

interface Directory {
  users: Set<string>;
  groups: Map<string, string[]>;
}

function fakeLdap(dir: Directory): Ldap {
  return {
    getUser: async (uid: string) => (dir.users.has(uid) ? { uid } : null),
    groupsOf: async (uid: string) => dir.groups.get(uid) ?? [],
  } as unknown as Ldap;
}

interface Answer {
  status: number;
  code?: string;
  message?: string;
  uid?: string;
  staff?: boolean;
  headers: Record<string, string>;
}

/**
 * The hook on its own, called as Fastify calls it (fastify's inject() cannot
 * load under jest here: light-my-request needs the ESM-only `cookie`).
 */
function hookWith(opts: { sessions?: SessionOptions; dir: Directory; roleTtlMs?: number }) {
  let handshakes = 0;
  const hook = makeAuthHook({
    // The fake accepts base64("good-<uid>") as a token for <uid>.
    authenticate: async (token) => {
      handshakes += 1;
      const text = Buffer.from(token, 'base64').toString('utf8');
      if (!text.startsWith('good-')) throw new Error('bad token');
      return { principal: `${text.slice(5)}@${REALM}` };
    },
    roles: new RoleCache(fakeLdap(opts.dir), opts.roleTtlMs ?? 30_000),
    realm: REALM,
    log: createLogger({ level: 'silent', host: 'test', process: 'test' }),
    sessions: opts.sessions,
  });
  const call = async (headers: Record<string, string>): Promise<Answer> => {
    const out: Record<string, string> = {};
    const req = { headers, ip: '127.0.0.1', url: '/api/whoami' } as unknown as FastifyRequest;
    const reply = {
      header(name: string, value: string) {
        out[name.toLowerCase()] = value;
        return this;
      },
    } as unknown as FastifyReply;
    try {
      await hook(req, reply);
    } catch (err) {
      const e = err as PermanentError;
      if (e.name !== 'PermanentError') throw err;
      return { status: httpStatus(e.code), code: e.code, message: e.message, headers: out };
    }
    return { status: 200, uid: req.caller!.uid, staff: req.caller!.isStaff, headers: out };
  };
  return { call, handshakes: () => handshakes };
}

const tokenFor = (uid: string) => Buffer.from(`good-${uid}`).toString('base64');
const cookieFrom = (setCookie: string | undefined) => /ceod_session=([^;]*)/.exec(String(setCookie))?.[1];

describe('the auth hook with session cookies', () => {
  let clock = T0 * 1000;
  const registry = new MemorySessions();
  const sessions: SessionOptions = { key, ttlS: 600, secure: true, now: () => clock, registry };
  const dir: Directory = { users: new Set(['alice1', 'bob1']), groups: new Map([['alice1', ['office']]]) };
  let h: ReturnType<typeof hookWith>;

  beforeEach(() => {
    clock = T0 * 1000;
    dir.users = new Set(['alice1', 'bob1']);
    dir.groups = new Map([['alice1', ['office']]]);
    h = hookWith({ sessions, dir, roleTtlMs: 1 });
  });

  const handshake = async (uid: string) => cookieFrom((await h.call({ authorization: `Negotiate ${tokenFor(uid)}` })).headers['set-cookie'])!;

  it('a revoked session (password reset, deletion, expiry, leaving a staff group) is refused at once; a new handshake gets a new one', async () => {
    const cookie = await handshake('alice1');
    expect((await h.call({ cookie: `${SESSION_COOKIE}=${cookie}` })).status).toBe(200);
    await registry.revoke(['alice1']);
    const refused = await h.call({ cookie: `${SESSION_COOKIE}=${cookie}` });
    expect(refused.status).toBe(401);
    expect(refused.headers['set-cookie']).toMatch(/Max-Age=0/);
    // Others are untouched, and a new handshake issues a cookie of the new generation.
    expect((await h.call({ cookie: `${SESSION_COOKIE}=${await handshake('bob1')}` })).status).toBe(200);
    const fresh = await handshake('alice1');
    expect((await h.call({ cookie: `${SESSION_COOKIE}=${fresh}` })).status).toBe(200);
  });

  it('a handshake sets the cookie; the cookie alone then authenticates the same user without one', async () => {
    const first = await h.call({ authorization: `Negotiate ${tokenFor('alice1')}` });
    expect(first.status).toBe(200);
    const setCookie = first.headers['set-cookie'];
    expect(setCookie).toMatch(/^ceod_session=v1\.[^;]+; Max-Age=600; Path=\/api; HttpOnly; SameSite=Strict; Secure$/);
    const second = await h.call({ cookie: `theme=dark; ${SESSION_COOKIE}=${cookieFrom(setCookie)}` });
    expect([second.status, second.uid, second.staff]).toEqual([200, 'alice1', true]);
    expect(second.headers['set-cookie']).toBeUndefined();
    expect(h.handshakes()).toBe(1);
  });

  it('a tampered, expired or malformed cookie is a 401 with a Negotiate challenge, and is cleared', async () => {
    const value = await handshake('bob1');
    const [v, body, sig] = value.split('.') as [string, string, string];
    const forged = Buffer.from(JSON.stringify({ p: `alice1@${REALM}`, u: 'alice1', iat: T0, exp: T0 + 600 })).toString('base64url');
    const foreign = signSession(key, { principal: 'ceod/admin@CSCLUB.INTERNAL', uid: 'ceod', iat: T0, exp: T0 + 600 });
    for (const bad of [`${v}.${forged}.${sig}`, `${v}.${body}.${flip(sig, 5)}`, 'v1..', '%%%', '', `${value}x`, foreign]) {
      const res = await h.call({ cookie: `${SESSION_COOKIE}=${bad}` });
      expect([bad, res.status, res.code]).toEqual([bad, 401, 'UNAUTHENTICATED']);
      expect(res.headers['www-authenticate']).toBe('Negotiate');
      expect(res.headers['set-cookie']).toMatch(/^ceod_session=; Max-Age=0; Path=\/api;/);
      if (bad.length > 8) expect(res.message).not.toContain(bad);
    }
    clock = (T0 + 600) * 1000;
    const expired = await h.call({ cookie: `${SESSION_COOKIE}=${value}` });
    expect([expired.status, expired.headers['www-authenticate']]).toEqual([401, 'Negotiate']);
  });

  it('a Negotiate header wins over a valid cookie', async () => {
    const value = await handshake('alice1');
    const refused = await h.call({ authorization: 'Negotiate YWJjZGVm', cookie: `${SESSION_COOKIE}=${value}` });
    expect(refused.status).toBe(401);
    const asBob = await h.call({ authorization: `Negotiate ${tokenFor('bob1')}`, cookie: `${SESSION_COOKIE}=${value}` });
    expect([asBob.status, asBob.uid]).toEqual([200, 'bob1']);
    expect(cookieFrom(asBob.headers['set-cookie'])).not.toBe(value);
  });

  it('roles come from the directory on each use: a removed group or account takes effect', async () => {
    const value = await handshake('alice1');
    dir.groups.set('alice1', []);
    await new Promise((r) => setTimeout(r, 5)); // past the 1 ms role cache TTL
    const demoted = await h.call({ cookie: `${SESSION_COOKIE}=${value}` });
    expect([demoted.status, demoted.uid, demoted.staff]).toEqual([200, 'alice1', false]);
    dir.users.delete('alice1');
    await new Promise((r) => setTimeout(r, 5));
    const gone = await h.call({ cookie: `${SESSION_COOKIE}=${value}` });
    expect([gone.status, gone.code]).toEqual([403, 'FORBIDDEN']);
  });

  it('a handshake by a principal that is not a club account sets no cookie', async () => {
    const res = await h.call({ authorization: `Negotiate ${tokenFor('nobody1')}` });
    expect([res.status, res.headers['set-cookie']]).toEqual([403, undefined]);
  });

  it('no cookie and no Negotiate header: 401 with a challenge, as before', async () => {
    const res = await h.call({ authorization: 'Basic YTpi' });
    expect([res.status, res.headers['www-authenticate']]).toEqual([401, 'Negotiate']);
  });

  it('the Secure attribute follows the config', async () => {
    const plain = hookWith({ sessions: { ...sessions, secure: false }, dir });
    const res = await plain.call({ authorization: `Negotiate ${tokenFor('alice1')}` });
    expect(res.headers['set-cookie']).toMatch(/SameSite=Strict$/);
  });
});

describe('the auth hook with session cookies off', () => {
  it('sets no cookie and ignores one', async () => {
    const h = hookWith({ dir: { users: new Set(['alice1']), groups: new Map() } });
    const first = await h.call({ authorization: `Negotiate ${tokenFor('alice1')}` });
    expect([first.status, first.headers['set-cookie']]).toEqual([200, undefined]);
    const nowS = Math.floor(Date.now() / 1000);
    const cookie = signSession(key, { ...session, iat: nowS, exp: nowS + 600 });
    expect((await h.call({ cookie: `${SESSION_COOKIE}=${cookie}` })).status).toBe(401);
  });
});

describe('RoleCache', () => {
  it('caches a user\'s roles, and reads them afresh once their session generation moved (a revocation)', async () => {
    let reads = 0;
    let groups = ['syscom'];
    const ldap = {
      getUser: async (uid: string) => ({ uid }),
      groupsOf: async () => {
        reads += 1;
        return groups;
      },
    } as unknown as Ldap;
    const cache = new RoleCache(ldap, 60_000);
    expect((await cache.lookup('alice1', 'alice1@X', 0))!.isSyscom).toBe(true);
    groups = [];
    expect((await cache.lookup('alice1', 'alice1@X', 0))!.isSyscom).toBe(true); // cached
    expect(reads).toBe(1);
    // alice1 left syscom: the step revoked her sessions, her generation is now 1.
    expect((await cache.lookup('alice1', 'alice1@X', 1))!.isSyscom).toBe(false);
    expect(reads).toBe(2);
  });
});
