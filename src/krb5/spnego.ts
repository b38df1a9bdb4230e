/**
 * SPNEGO (RFC 4559) on the server side with the `kerberos` package. The service
 * key comes from the keytab in KRB5_KTNAME (set at start from config); the
 * client asks for `ceod/<url host>`, which is why dev URLs use `localhost`.
 */
import { initializeServer } from 'kerberos';

export interface SpnegoResult {
  /** The authenticated principal, e.g. `ctdalek@CSCLUB.INTERNAL`. */
  principal: string;
  /** Mutual-auth token for `WWW-Authenticate: Negotiate <token>`, if any. */
  responseToken?: string;
}

/** `ceod/localhost` → `ceod@localhost`, the GSS host-based service name the library wants. */
export function gssServiceName(servicePrincipal: string): string {
  const [service, host] = servicePrincipal.split('@')[0]!.split('/');
  return host ? `${service}@${host}` : service!;
}

/** Accepts one client token. Throws on anything the GSS layer refuses (bad token, replay, wrong key). */
export async function acceptToken(serviceName: string, token: string): Promise<SpnegoResult> {
  const server = await initializeServer(serviceName);
  await server.step(token);
  if (!server.contextComplete || !server.username) throw new Error('SPNEGO context incomplete');
  return { principal: server.username, responseToken: server.response || undefined };
}

/**
 * `uid@REALM` → `uid` when the realm is ours and the principal has no instance;
 * service principals (`ceod/admin`) and foreign realms map to nothing.
 */
export function principalToUid(principal: string, realm: string): string | null {
  const at = principal.lastIndexOf('@');
  if (at < 0 || principal.slice(at + 1) !== realm) return null;
  const name = principal.slice(0, at);
  return /^[a-z][a-z0-9-]{0,31}$/.test(name) ? name : null;
}
