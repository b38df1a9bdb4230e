/**
 * The cross-site rule (docs/authorization.md#cross-site-requests): a browser
 * sends the caller's ambient credentials (a Kerberos ticket through
 * Negotiate, or the session cookie) with any request a foreign page makes, so
 * a request whose `Origin` is present and is neither this API's own origin
 * nor one of `[ceod] allowed_origins`, or which says `Sec-Fetch-Site:
 * cross-site`, is refused with 403 before authentication. Clients that send
 * no `Origin` (curl, the `ceo` client, scripts) are unaffected.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { PermanentError } from '../../core/errors';
import type { Logger } from '../../core/log';
import type { Metrics } from '../../core/ports';

export function makeCrossSiteHook(opts: { allowedOrigins: readonly string[]; log: Logger; metrics?: Pick<Metrics, 'authFailed'> }) {
  const allowed = new Set(opts.allowedOrigins.map((o) => o.toLowerCase()));
  return async function refuseCrossSite(req: FastifyRequest, _reply: FastifyReply): Promise<void> {
    const origin = req.headers.origin;
    const site = req.headers['sec-fetch-site'];
    let refused: string | null = null;
    if (site === 'cross-site') refused = 'Sec-Fetch-Site: cross-site';
    else if (origin !== undefined) {
      const own = `${req.protocol}://${req.headers.host ?? ''}`.toLowerCase();
      const o = String(origin).toLowerCase();
      if (o !== own && !allowed.has(o)) refused = `Origin ${String(origin).slice(0, 100)}`;
    }
    if (refused) {
      opts.metrics?.authFailed('cross_site');
      opts.log.warn({ ip: req.ip, url: req.url, refused }, 'denied: cross-site request');
      throw new PermanentError('FORBIDDEN', `cross-site request refused (${refused}); ceod accepts requests from its own origin and [ceod] allowed_origins only`);
    }
  };
}
