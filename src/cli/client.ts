/**
 * Talking to the API as the user: the kept session cookie if there is one,
 * else a SPNEGO handshake with their ticket (mutual authentication checked),
 * keeping the cookie the API sets; on a 401 that refuses a cookie, the
 * cookie is dropped and the request made again with a handshake. Errors
 * become one-line `CliError`s with the exit code of their status (./errors.ts).
 */
import type { IncomingMessage } from 'node:http';
import { ccacheFingerprint, ccacheName } from './ccache';
import type { CliConfig } from './config';
import { apiErrorMessage, CliError, exitCodeOfStatus } from './errors';
import { cacheDir, parseSetCookie, SESSION_COOKIE, SessionStore } from './session-store';
import { startHandshake } from './spnego';
import { type Answer, Transport } from './transport';

export interface ClientOptions {
  config: CliConfig;
  env: NodeJS.ProcessEnv;
  home: string;
  /** Called with one line per request when CEO_DEBUG is set (stderr). */
  debug?: (line: string) => void;
}

type Opened<T> = { res: T; status: number; headers: IncomingMessage['headers'] };

export class CeodClient {
  readonly transport: Transport;
  private readonly sessions: SessionStore;
  private readonly ccache: string;

  constructor(private readonly opts: ClientOptions) {
    this.transport = new Transport({ url: opts.config.url, caFile: opts.config.caFile, env: opts.env });
    this.ccache = ccacheName(opts.env);
    this.sessions = new SessionStore(cacheDir(opts.env, opts.home), this.transport.base.origin, this.ccache);
  }

  /** The file the session cookie is kept in. */
  get sessionFile(): string {
    return this.sessions.file;
  }

  /**
   * One authenticated exchange: `attempt` sends the request with the given
   * auth headers and returns the status, headers and whatever it read.
   */
  private async authenticated<T>(what: string, attempt: (auth: Record<string, string>) => Promise<Opened<T>>, discard: (res: T) => Promise<void>): Promise<Opened<T>> {
    const cookie = this.sessions.load(ccacheFingerprint(this.ccache), Date.now());
    if (cookie !== undefined) {
      const r = await attempt({ cookie: `${SESSION_COOKIE}=${cookie}` });
      this.opts.debug?.(`${what} → ${r.status} (session cookie)`);
      if (r.status !== 401) {
        this.keepCookie(r.headers);
        return r;
      }
      await discard(r.res);
      this.sessions.drop(); // refused (expired, key rotated): negotiate afresh
    }
    const hs = await startHandshake(this.transport.base.hostname);
    const r = await attempt({ authorization: `Negotiate ${hs.token}` });
    this.opts.debug?.(`${what} → ${r.status} (Kerberos handshake)`);
    if (r.status !== 401) {
      const m = /^Negotiate\s+([A-Za-z0-9+/=]+)\s*$/i.exec(String(r.headers['www-authenticate'] ?? ''));
      try {
        await hs.verify(m?.[1]);
      } catch (err) {
        await discard(r.res);
        throw err;
      }
      this.keepCookie(r.headers);
    }
    return r;
  }

  private keepCookie(headers: IncomingMessage['headers']): void {
    const set = parseSetCookie(headers['set-cookie'] ?? [], Date.now());
    if (set === 'cleared') this.sessions.drop();
    else if (set) this.sessions.save(set, ccacheFingerprint(this.ccache));
  }

  /** A request answered with JSON; an error status throws its one-line message. */
  async request<T = any>(method: string, path: string, body?: unknown): Promise<T> {
    const text = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string> = { accept: 'application/json', ...(text !== undefined ? { 'content-type': 'application/json' } : {}) };
    const r = await this.authenticated<Answer>(
      `${method} ${path}`,
      async (auth) => {
        const a = await this.transport.send(method, path, { ...headers, ...auth }, text);
        return { res: a, status: a.status, headers: a.headers };
      },
      async () => undefined,
    );
    return parseAnswer<T>(r.res);
  }

  /** Opens a Server-Sent Events stream; an error status throws as `request` does. */
  async stream(path: string, lastEventId?: string): Promise<IncomingMessage> {
    const headers: Record<string, string> = { accept: 'text/event-stream', ...(lastEventId ? { 'last-event-id': lastEventId } : {}) };
    const r = await this.authenticated<IncomingMessage>(
      `GET ${path}${lastEventId ? ` (Last-Event-ID ${lastEventId})` : ''}`,
      async (auth) => {
        const res = await this.transport.open('GET', path, { ...headers, ...auth });
        return { res, status: res.statusCode ?? 0, headers: res.headers };
      },
      async (res) => void res.resume(),
    );
    if (r.status !== 200) {
      const chunks: Buffer[] = [];
      for await (const c of r.res) chunks.push(c as Buffer);
      parseAnswer({ status: r.status, headers: r.headers, text: Buffer.concat(chunks).toString('utf8') });
    }
    return r.res;
  }

  close(): void {
    this.transport.close();
  }
}

/** The JSON of a 2xx answer; otherwise a CliError with the API's message and the status's exit code. */
export function parseAnswer<T>(a: Answer): T {
  let body: unknown = a.text;
  try {
    body = a.text ? JSON.parse(a.text) : undefined;
  } catch {
    // not JSON: keep the text for the message
  }
  if (a.status >= 200 && a.status < 300) return body as T;
  let message = apiErrorMessage(a.status, body);
  if (a.status === 401) message += '; run kinit to get a fresh Kerberos ticket';
  throw new CliError(message, exitCodeOfStatus(a.status));
}

