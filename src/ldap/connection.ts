/**
 * One bound LDAP connection, shared by every operation of an adapter.
 *
 * A bind costs a round trip and a log line on the server, so the adapter keeps
 * one bound client and reuses it. When the connection is lost (server restart,
 * idle timeout, an operation timing out) the client is dropped and the next
 * operation opens and binds a fresh one. Concurrent callers share the one bind
 * in flight instead of racing to open several sockets.
 */
import * as net from 'node:net';
import { Client } from 'ldapts';
import { TransientError } from '../core/errors';
import { classifyLdapError } from './classify';

export interface ConnectionOptions {
  url: string;
  bindDN: string;
  bindPassword: string;
  timeoutMs: number;
}

/** `ldapi://%2Fvar%2Frun%2Fslapd%2Fldapi` → `/var/run/slapd/ldapi`; ldapts itself only speaks ldap:// and ldaps://. */
export function ldapiSocketPath(url: string): string | null {
  const m = /^ldapi:\/\/([^/?#]*)\/?$/.exec(url);
  if (!m) return null;
  return decodeURIComponent(m[1] || '%2Fvar%2Frun%2Fslapd%2Fldapi');
}

export class LdapConnection {
  private client: Client | undefined;
  private opening: Promise<Client> | undefined;
  private closed = false;

  constructor(private readonly opts: ConnectionOptions) {}

  /** A connected, bound client; opens and binds one if there is none. */
  async get(): Promise<Client> {
    if (this.closed) throw new TransientError('LDAP_UNAVAILABLE', 'LDAP adapter is closed');
    // isBound is false once ldapts has seen the socket close; the check and the
    // caller's request happen in the same tick, so no close can slip between them.
    if (this.client?.isBound) return this.client;
    this.opening ??= this.open().finally(() => {
      this.opening = undefined;
    });
    return this.opening;
  }

  /** Drops `client` (after a timeout or a lost connection) so the next `get` reconnects. */
  discard(client: Client): void {
    if (this.client === client) this.client = undefined;
    client.unbind().catch(() => {
      // The connection is already broken; unbind only frees the socket.
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const client = this.client;
    this.client = undefined;
    // A bind in flight sees `closed` when it finishes and unbinds its own client.
    await this.opening?.catch(() => undefined);
    if (client) await client.unbind().catch(() => undefined);
  }

  private async open(): Promise<Client> {
    const old = this.client;
    if (old) this.discard(old);
    const socketPath = ldapiSocketPath(this.opts.url);
    const client = new Client({
      url: socketPath ? 'ldap://localhost' : this.opts.url,
      timeout: this.opts.timeoutMs,
      connectTimeout: this.opts.timeoutMs,
      // Belt and braces: should ldapts ever reconnect on its own, it binds again
      // instead of running the operation anonymously.
      autoRebind: true,
      ...(socketPath ? { createConnection: (() => net.connect({ path: socketPath })) as unknown as typeof net.connect } : {}),
    });
    try {
      await client.bind(this.opts.bindDN, this.opts.bindPassword);
    } catch (e) {
      client.unbind().catch(() => undefined);
      throw classifyLdapError(e, `bind as ${this.opts.bindDN}`);
    }
    if (this.closed) {
      await client.unbind().catch(() => undefined);
      throw new TransientError('LDAP_UNAVAILABLE', 'LDAP adapter is closed');
    }
    this.client = client;
    return client;
  }
}
