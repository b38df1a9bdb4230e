/**
 * Who is asking, and what they may do. Authentication is SPNEGO on every
 * `/api` request; authorization comes from LDAP group membership (SPEC §5):
 * `syscom` and `office` are staff, any People entry is a member.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { PermanentError } from '../errors';
import type { Logger } from '../log';
import type { Ldap } from '../workers/adapters';
import { acceptToken, principalToUid, type SpnegoResult } from '../krb5/spnego';

export interface Caller {
  uid: string;
  principal: string;
  groups: ReadonlySet<string>;
  isSyscom: boolean;
  isStaff: boolean;
}

declare module 'fastify' {
  interface FastifyRequest {
    caller?: Caller;
  }
}

/** Turns a client token into a principal; tests may hand in another one. */
export type Authenticator = (token: string) => Promise<SpnegoResult>;

export const spnegoAuthenticator =
  (serviceName: string): Authenticator =>
  (token) =>
    acceptToken(serviceName, token);

/** Caches each user's groups briefly: one LDAP search per user per `ttlMs`, not per request. */
export class RoleCache {
  private readonly cache = new Map<string, { at: number; caller: Caller | null }>();

  constructor(
    private readonly ldap: Ldap,
    private readonly ttlMs = 30_000,
  ) {}

  async lookup(uid: string, principal: string): Promise<Caller | null> {
    const hit = this.cache.get(uid);
    if (hit && Date.now() - hit.at < this.ttlMs) return hit.caller;
    const [user, groups] = await Promise.all([this.ldap.getUser(uid), this.ldap.groupsOf(uid)]);
    const set = new Set(groups);
    const caller = user
      ? { uid, principal, groups: set, isSyscom: set.has('syscom'), isStaff: set.has('syscom') || set.has('office') }
      : null;
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(uid, { at: Date.now(), caller });
    return caller;
  }
}

export function makeAuthHook(opts: { authenticate: Authenticator; roles: RoleCache; realm: string; log: Logger }) {
  return async function authenticate(req: FastifyRequest, reply: FastifyReply): Promise<void> {
    const header = req.headers.authorization ?? '';
    const m = /^Negotiate\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
    if (!m) {
      reply.header('WWW-Authenticate', 'Negotiate');
      throw new PermanentError('UNAUTHENTICATED', 'authenticate with Kerberos (SPNEGO): kinit, then curl --negotiate -u : --service-name ceod');
    }
    let result: SpnegoResult;
    try {
      result = await opts.authenticate(m[1]!);
    } catch {
      reply.header('WWW-Authenticate', 'Negotiate');
      opts.log.warn({ ip: req.ip, url: req.url }, 'SPNEGO token refused');
      throw new PermanentError('UNAUTHENTICATED', 'Kerberos token refused (expired, replayed or for another service)');
    }
    if (result.responseToken) reply.header('WWW-Authenticate', `Negotiate ${result.responseToken}`);
    const uid = principalToUid(result.principal, opts.realm);
    const caller = uid ? await opts.roles.lookup(uid, result.principal) : null;
    if (!caller) {
      opts.log.warn({ principal: result.principal, url: req.url }, 'denied: principal is not a club account');
      throw new PermanentError('FORBIDDEN', `${result.principal} is not a club account`);
    }
    req.caller = caller;
  };
}

/** Refuses (403, logged) unless `allowed`; `what` says what was refused. */
export function authorize(req: FastifyRequest, allowed: boolean, what: string): Caller {
  const caller = req.caller!;
  if (!allowed) {
    req.log.warn({ caller: caller.uid, what }, 'denied');
    throw new PermanentError('FORBIDDEN', `${caller.uid} may not ${what}`);
  }
  return caller;
}
