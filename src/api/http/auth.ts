/**
 * Who is asking, and what they may do (docs/authorization.md).
 *
 * Authentication is SPNEGO on an `/api` request, or the signed session cookie
 * an earlier handshake handed out (`./session.ts`); authorization comes from
 * LDAP group membership: `syscom` and `office` are staff, any People entry is
 * a member. Each route declares who may call it (`access` in its route
 * config); one preHandler enforces that for every route, after the path's
 * parameters are checked, so no handler re-codes it.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { PermanentError } from '../../core/errors';
import type { Logger } from '../../core/log';
import { principalToUid } from '../../core/model/names';
import { isClubAccount } from '../../core/model/user';
import type { AuthFailure, Authenticator, Ldap, Metrics, SessionRegistry, SpnegoResult } from '../../core/ports';
import { clearCookieHeader, cookieValue, SESSION_COOKIE, setCookieHeader, signSession, verifySession } from './session';
import { parseOr400 } from './validation';

export interface Caller {
  uid: string;
  principal: string;
  groups: ReadonlySet<string>;
  isSyscom: boolean;
  isStaff: boolean;
}

/**
 * Who may call a route: any club account, staff (office or syscom), syscom
 * only; or the member the path names (`:uid`), or else staff or syscom, and
 * with `club`, when `:uid` is a club's account (class `club`), also any member
 * of that club's group.
 */
export type Access = 'member' | 'staff' | 'syscom' | { self: 'staff' | 'syscom'; club?: boolean };

/** What a route declares in its Fastify route config. */
export interface RouteAccess {
  access: Access;
  /** What a refused caller may not do, for the 403 and the log, e.g. `renew members`. */
  what: string | ((params: Record<string, string>) => string);
  /** The path parameters' schema, checked (400) before authorization. */
  params?: z.ZodType<Record<string, string>>;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated caller; set by the auth hook on every `/api` request. */
    caller: Caller;
  }
  interface FastifyContextConfig {
    access?: RouteAccess;
  }
}

/** Caches each user's groups briefly: one LDAP search per user per `ttlMs`, not per request. */
export class RoleCache {
  private readonly cache = new Map<string, { at: number; gen: number; caller: Caller | null }>();

  constructor(
    private readonly ldap: Ldap,
    private readonly ttlMs: number,
  ) {}

  /**
   * `gen` is the user's session generation now: a revocation (leaving a staff
   * group, say) moves it, and the cached roles are then read afresh at once.
   */
  async lookup(uid: string, principal: string, gen = 0): Promise<Caller | null> {
    const hit = this.cache.get(uid);
    if (hit && hit.gen === gen && Date.now() - hit.at < this.ttlMs) return hit.caller;
    const [user, groups] = await Promise.all([this.ldap.getUser(uid), this.ldap.groupsOf(uid)]);
    const set = new Set(groups);
    const caller = user ? { uid, principal, groups: set, isSyscom: set.has('syscom'), isStaff: set.has('syscom') || set.has('office') } : null;
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(uid, { at: Date.now(), gen, caller });
    return caller;
  }
}

/** Session cookies: off when absent (`[ceod] session_ttl_seconds = 0`). */
export interface SessionOptions {
  /** The HMAC key (`deriveSessionKey` of the shared secrets key). */
  key: Buffer;
  ttlS: number;
  /** Mark the cookie Secure (clients then send it only over https, or to localhost). */
  secure: boolean;
  /** Milliseconds since the epoch; injectable for tests. */
  now?: () => number;
  /** The users' session generations: a cookie issued under an older one is refused. */
  registry: SessionRegistry;
  /** The cookie's Path: `/api` unless the hook guards another area (the queue dashboard: `/admin`). */
  path?: string;
}

const challenge = (reply: FastifyReply) => reply.header('WWW-Authenticate', 'Negotiate');

/** The onRequest hook of every `/api` route: sets `req.caller` or answers 401/403. */
export function makeAuthHook(opts: { authenticate: Authenticator; roles: RoleCache; realm: string; log: Logger; sessions?: SessionOptions; metrics?: Pick<Metrics, 'authFailed'> }) {
  const { sessions } = opts;
  const failed = (reason: AuthFailure) => opts.metrics?.authFailed(reason);
  const nowS = () => Math.floor((sessions?.now ?? Date.now)() / 1000);

  /** A Negotiate header: the handshake, then (if sessions are on) a fresh cookie. */
  async function negotiate(req: FastifyRequest, reply: FastifyReply, header: string): Promise<Caller> {
    const m = /^Negotiate\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
    let result: SpnegoResult;
    try {
      if (!m) throw new Error('malformed');
      result = await opts.authenticate(m[1]!);
    } catch {
      challenge(reply);
      failed('token_refused');
      opts.log.warn({ ip: req.ip, url: req.url }, 'SPNEGO token refused');
      throw new PermanentError('UNAUTHENTICATED', 'Kerberos token refused (expired, replayed or for another service)');
    }
    if (result.responseToken) reply.header('WWW-Authenticate', `Negotiate ${result.responseToken}`);
    const uid = principalToUid(result.principal, opts.realm);
    const gen = uid && sessions ? await sessions.registry.generation(uid) : 0;
    const caller = uid ? await opts.roles.lookup(uid, result.principal, gen) : null;
    if (!caller) {
      failed('not_club_account');
      opts.log.warn({ principal: result.principal, url: req.url }, 'denied: principal is not a club account');
      throw new PermanentError('FORBIDDEN', `${result.principal} is not a club account`);
    }
    if (sessions) {
      const iat = nowS();
      const value = signSession(sessions.key, { principal: caller.principal, uid: caller.uid, iat, exp: iat + sessions.ttlS, gen });
      reply.header('Set-Cookie', setCookieHeader(value, { maxAgeS: sessions.ttlS, secure: sessions.secure, path: sessions.path }));
    }
    return caller;
  }

  /** A session cookie: checked, never renewed (the client negotiates again when it expires). */
  async function resume(req: FastifyRequest, reply: FastifyReply, s: SessionOptions, value: string): Promise<Caller> {
    const check = verifySession(s.key, value, nowS(), s.ttlS);
    let reason = check.ok ? (principalToUid(check.session.principal, opts.realm) !== check.session.uid ? 'foreign_principal' : null) : check.reason;
    // A password reset, a deletion, an expiry or leaving a staff group ends the user's sessions at once.
    const gen = check.ok && reason === null ? await s.registry.generation(check.session.uid) : 0;
    if (check.ok && reason === null && (check.session.gen ?? 0) !== gen) reason = 'revoked';
    if (!check.ok || reason !== null) {
      challenge(reply);
      failed(`cookie_${reason}` as AuthFailure);
      reply.header('Set-Cookie', clearCookieHeader(s.secure, s.path));
      // The reason, never the value: the cookie is a credential.
      opts.log.info({ ip: req.ip, url: req.url, reason }, 'session cookie refused');
      throw new PermanentError('UNAUTHENTICATED', 'session cookie refused (expired, revoked or invalid); authenticate with Kerberos (SPNEGO) again');
    }
    const caller = await opts.roles.lookup(check.session.uid, check.session.principal, gen);
    if (!caller) {
      failed('not_club_account');
      opts.log.warn({ principal: check.session.principal, url: req.url }, 'denied: principal is no longer a club account');
      throw new PermanentError('FORBIDDEN', `${check.session.principal} is not a club account`);
    }
    return caller;
  }

  return async function authenticate(req: FastifyRequest, reply: FastifyReply): Promise<void> {
    const header = req.headers.authorization ?? '';
    // A Negotiate header wins over a cookie: a client that negotiates means it.
    if (/^Negotiate(\s|$)/i.test(header)) {
      req.caller = await negotiate(req, reply, header);
      return;
    }
    const cookie = sessions ? cookieValue(req.headers.cookie, SESSION_COOKIE) : undefined;
    if (sessions && cookie !== undefined) {
      req.caller = await resume(req, reply, sessions, cookie);
      return;
    }
    challenge(reply);
    failed('no_credentials');
    throw new PermanentError('UNAUTHENTICATED', 'authenticate with Kerberos (SPNEGO): kinit, then curl --negotiate -u : --service-name ceod');
  };
}

/** Whether `caller` has `access` to a route whose path names `params`. */
export function allowed(caller: Caller, access: Access, params: Record<string, string>): boolean {
  if (access === 'member') return true;
  if (access === 'staff') return caller.isStaff;
  if (access === 'syscom') return caller.isSyscom;
  if (params.uid !== undefined && params.uid === caller.uid) return true;
  return access.self === 'staff' ? caller.isStaff : caller.isSyscom;
}

/** Refuses (403, logged) unless `ok`; `what` says what was refused. */
export function refuseUnless(req: FastifyRequest, ok: boolean, what: string): void {
  if (ok) return;
  req.server.ceod?.metrics.authFailed('access_denied');
  req.log.warn({ caller: req.caller.uid, what }, 'denied');
  throw new PermanentError('FORBIDDEN', `${req.caller.uid} may not ${what}`);
}

/**
 * The preHandler of every `/api` route: checks the path's parameters (400),
 * then the route's declared access (403). A route without a declaration is
 * refused: forgetting one must not open a route to everyone.
 */
export async function enforceAccess(req: FastifyRequest): Promise<void> {
  const decl = req.routeOptions.config.access;
  if (!decl) throw new PermanentError('FORBIDDEN', 'this route declares no access rule');
  const params = decl.params ? parseOr400(decl.params, req.params, 'params') : {};
  req.params = params;
  const what = typeof decl.what === 'function' ? decl.what(params) : decl.what;
  let ok = allowed(req.caller, decl.access, params);
  if (!ok && typeof decl.access === 'object' && decl.access.club) ok = await clubMember(req, params.uid);
  refuseUnless(req, ok, what);
}

/**
 * Whether the caller is in the group of the club whose account is `uid`. The
 * account must have class `club`: a member's personal group (or any group
 * that merely shares a name) grants nothing.
 */
async function clubMember(req: FastifyRequest, uid: string | undefined): Promise<boolean> {
  if (uid === undefined || !req.caller.groups.has(uid)) return false;
  const account = await req.server.ceod.ldap.getUser(uid);
  return account !== null && isClubAccount(account);
}
