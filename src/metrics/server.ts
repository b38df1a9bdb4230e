/**
 * A worker's metrics endpoint (docs/operations.md#metrics): a tiny `node:http`
 * server on `[ceod] metrics_listen` that answers `GET /metrics` to the
 * addresses of `[ceod] metrics_allow` (403 to others) and nothing else. A
 * worker has no Fastify app; this is all it serves.
 */
import { createServer, type Server } from 'node:http';
import type { AllowList } from '../core/allow-list';
import { classify } from '../core/errors';
import type { Logger } from '../core/log';
import type { Metrics } from '../core/ports';

export interface MetricsServer {
  /** Where it listens, e.g. `127.0.0.1:9988` (the port the kernel chose, if 0 was asked). */
  readonly address: string;
  close(): Promise<void>;
}

function answer(res: import('node:http').ServerResponse, status: number, code: string, message: string): void {
  const body = JSON.stringify({ error: { code, message } });
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
}

/** Listens on `host:port`; rejects (naming the key) if it cannot. */
export async function startMetricsServer(opts: { host: string; port: number; metrics: Metrics; allow: AllowList; log: Logger }): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/metrics') return answer(res, 404, 'NOT_FOUND', `no route ${req.method} ${path}`.slice(0, 200));
    if (req.method !== 'GET' && req.method !== 'HEAD') return answer(res, 405, 'BAD_REQUEST', 'only GET /metrics');
    if (!opts.allow.allows(req.socket.remoteAddress)) {
      opts.log.warn({ ip: req.socket.remoteAddress }, 'denied: /metrics from an address outside [ceod] metrics_allow');
      return answer(res, 403, 'FORBIDDEN', 'this address may not read metrics ([ceod] metrics_allow)');
    }
    opts.metrics.scrape().then(
      ({ contentType, body }) => {
        res.writeHead(200, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
        res.end(req.method === 'HEAD' ? undefined : body);
      },
      (err: unknown) => {
        opts.log.error({ error: classify(err) }, 'metrics scrape failed');
        answer(res, 500, 'UNKNOWN', 'metrics could not be collected; see the ceod log');
      },
    );
  });
  // Scrapes are short; a client that holds a connection open gets it closed.
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => reject(new Error(`cannot listen on [ceod] metrics_listen ${opts.host}:${opts.port}: ${err.code ?? err.message}`)));
    server.listen(opts.port, opts.host, () => resolve());
  });
  server.on('error', (err) => opts.log.error({ error: classify(err) }, 'metrics server error'));
  const a = server.address();
  const address = a && typeof a === 'object' ? `${a.address}:${a.port}` : `${opts.host}:${opts.port}`;
  opts.log.info({ address }, 'metrics listening');
  return {
    address,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
