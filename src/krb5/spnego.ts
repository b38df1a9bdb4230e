/**
 * SPNEGO (RFC 4559) on the server side with the `kerberos` package: the
 * `Authenticator` port. The service key comes from the keytab in KRB5_KTNAME
 * (set once at start by `ceod`, src/main.ts); the client asks for
 * `ceod/<url host>`, which is why dev URLs use `localhost`.
 */
import { initializeServer } from 'kerberos';
import type { Authenticator, SpnegoResult } from '../core/ports';

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

/** The `Authenticator` for a service principal, e.g. `ceod/localhost`. */
export function spnegoAuthenticator(servicePrincipal: string): Authenticator {
  const name = gssServiceName(servicePrincipal);
  return (token) => acceptToken(name, token);
}
