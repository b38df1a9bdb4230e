/**
 * `X-KRB5-CRED`: the original client forwards the user's Kerberos TGT in this
 * header. ceod acts with its own credentials, so the header is accepted and
 * ignored; being a credential, it is dropped from the request as soon as it
 * arrives, before any hook, handler or log line could see or keep it (the
 * logger redacts it too, as a second line of defence: src/core/log.ts).
 */
import type { FastifyRequest } from 'fastify';

export const FORWARDED_CREDENTIALS_HEADER = 'x-krb5-cred';

/** The first onRequest hook of the app: removes the header from the parsed and the raw headers. */
export async function dropForwardedCredentials(req: FastifyRequest): Promise<void> {
  if (!(FORWARDED_CREDENTIALS_HEADER in req.headers)) return;
  delete req.headers[FORWARDED_CREDENTIALS_HEADER];
  delete req.raw.headers[FORWARDED_CREDENTIALS_HEADER];
  const raw = req.raw.rawHeaders;
  for (let i = raw.length - 2; i >= 0; i -= 2) {
    if (raw[i]!.toLowerCase() === FORWARDED_CREDENTIALS_HEADER) raw.splice(i, 2);
  }
}
