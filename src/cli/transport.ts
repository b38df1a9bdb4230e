/**
 * HTTP(S) to the API with Node's own client: no dependency, nothing to load
 * but what Node has, and TLS verified against the configured CA (`ca_file`),
 * else the system's store (`/etc/ssl/certs/ca-certificates.crt`) plus Node's
 * bundled roots plus `NODE_EXTRA_CA_CERTS`. One keep-alive agent per run: the
 * requests of a command (submit, job status, events) share a connection.
 */
import type { Agent as HttpAgent, IncomingMessage, RequestOptions } from 'node:http';
import type { Agent as HttpsAgent } from 'node:https';
import { readFileSync } from 'node:fs';
import { CliError, EXIT } from './errors';

export interface TransportOptions {
  /** The API's base URL (./config.ts). */
  url: string;
  caFile?: string;
  env: NodeJS.ProcessEnv;
  /** Per request: connect + answer headers; the body of a stream is watched by its reader. */
  timeoutMs?: number;
}

export interface Answer {
  status: number;
  headers: IncomingMessage['headers'];
  text: string;
}

const SYSTEM_CA = '/etc/ssl/certs/ca-certificates.crt';

const readOr = (path: string, what: string): string => {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new CliError(`cannot read ${what} ${path}: ${(err as Error).message}`, EXIT.usage);
  }
};

/** The CA certificates an https connection trusts. */
export function trustedCas(caFile: string | undefined, env: NodeJS.ProcessEnv): string[] {
  if (caFile) return [readOr(caFile, '[ceod] ca_file')];
  // `ca` replaces Node's defaults, so give them all: bundled roots, the system's store, NODE_EXTRA_CA_CERTS.
  const tls = require('node:tls') as typeof import('node:tls');
  const cas = [...tls.rootCertificates];
  try {
    cas.push(readFileSync(SYSTEM_CA, 'utf8'));
  } catch {
    // no system store on this machine
  }
  if (env.NODE_EXTRA_CA_CERTS) cas.push(readOr(env.NODE_EXTRA_CA_CERTS, 'NODE_EXTRA_CA_CERTS'));
  return cas;
}

export class Transport {
  readonly base: URL;
  private agent?: HttpAgent | HttpsAgent;
  private readonly timeoutMs: number;

  constructor(private readonly opts: TransportOptions) {
    this.base = new URL(opts.url);
    this.timeoutMs = opts.timeoutMs ?? 30_000;
  }

  get https(): boolean {
    return this.base.protocol === 'https:';
  }

  private client() {
    if (this.https) {
      const https = require('node:https') as typeof import('node:https');
      this.agent ??= new https.Agent({ keepAlive: true, ca: trustedCas(this.opts.caFile, this.opts.env) });
      return { request: https.request, agent: this.agent };
    }
    const http = require('node:http') as typeof import('node:http');
    this.agent ??= new http.Agent({ keepAlive: true });
    return { request: http.request, agent: this.agent };
  }

  /** Sends a request and answers with its response, body unread (the caller reads or streams it). */
  open(method: string, path: string, headers: Record<string, string>, body?: string): Promise<IncomingMessage> {
    const { request, agent } = this.client();
    const url = new URL(this.base.pathname.replace(/\/$/, '') + path, this.base);
    const options: RequestOptions = { method, agent, headers: { ...headers, ...(body !== undefined ? { 'content-length': String(Buffer.byteLength(body)) } : {}) } };
    return new Promise((resolve, reject) => {
      const req = request(url, options, (res) => {
        req.setTimeout(0);
        resolve(res);
      });
      req.setTimeout(this.timeoutMs, () => req.destroy(new Error(`no answer within ${this.timeoutMs / 1000} s`)));
      req.on('error', (err) => reject(new CliError(`cannot reach ceod at ${this.base.origin}: ${describeNetError(err)}`, EXIT.failed)));
      req.end(body);
    });
  }

  /** A whole answer, body as text. */
  async send(method: string, path: string, headers: Record<string, string>, body?: string): Promise<Answer> {
    const res = await this.open(method, path, headers, body);
    const chunks: Buffer[] = [];
    for await (const c of res) chunks.push(c as Buffer);
    return { status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') };
  }

  close(): void {
    this.agent?.destroy();
  }
}

function describeNetError(err: Error & { code?: string }): string {
  if (err.code === 'ECONNREFUSED') return 'connection refused';
  if (err.code === 'ENOTFOUND') return 'unknown host';
  if (err.code && /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(err.code)) return `the server's TLS certificate is not trusted (${err.code}); set [ceod] ca_file in ceo.ini`;
  return err.message;
}
