/**
 * The Kerberos side of SPNEGO, with the `kerberos` package's client and the
 * user's ticket cache. The native module is loaded only when a handshake is
 * needed (a kept session cookie needs none): loading it is a measurable part
 * of a short command's run time (BENCHMARKS.md, the ceo client).
 *
 * The service is `ceod@<URL host>`: the library asks the KDC for
 * `ceod/<host>`, so in dev the URL host must be `localhost`, the name the
 * service principal was made for (never 127.0.0.1).
 */
import type { KerberosClient } from 'kerberos';
import { CliError, EXIT } from './errors';

export interface Handshake {
  /** The token for `Authorization: Negotiate <token>`. */
  token: string;
  /** Checks the server's answer token (mutual authentication); throws (exit 3) unless it proves the server. */
  verify(serverToken: string | undefined): Promise<void>;
}

const KINIT = 'run kinit (e.g. `kinit $USER`) to get a Kerberos ticket, then try again';

/** What the GSS library says, as the user can act on it. */
export function describeGssError(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  if (/no credentials|credentials cache|not found|No such file|expired|ccache|No Kerberos credentials/i.test(text)) return `no valid Kerberos ticket (${text}): ${KINIT}`;
  return `Kerberos could not authenticate you (${text}); ${KINIT}`;
}

/** Starts a handshake with `ceod@<host>`. No ticket (or an expired one): exit 3, saying to run kinit. */
export async function startHandshake(host: string): Promise<Handshake> {
  // Loaded here, not at the top: most runs reuse a session cookie and never need it.
  const krb = require('kerberos') as typeof import('kerberos');
  let client: KerberosClient;
  let token: string;
  try {
    client = await krb.initializeClient(`ceod@${host}`, { mechOID: krb.GSS_MECH_OID_SPNEGO, gssFlag: krb.GSS_C_MUTUAL_FLAG | krb.GSS_C_SEQUENCE_FLAG });
    token = await client.step('');
  } catch (err) {
    throw new CliError(describeGssError(err), EXIT.auth);
  }
  return {
    token,
    async verify(serverToken) {
      if (!serverToken) throw new CliError('the server did not prove its identity (no mutual-authentication token in its answer); refusing the answer', EXIT.auth);
      try {
        await client.step(serverToken);
      } catch (err) {
        throw new CliError(`the server failed mutual authentication (${err instanceof Error ? err.message : String(err)}); refusing the answer`, EXIT.auth);
      }
      if (!client.contextComplete) throw new CliError('the server failed mutual authentication (the handshake did not complete); refusing the answer', EXIT.auth);
    },
  };
}
