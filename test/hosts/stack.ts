/**
 * The multi-host stack as the hosts tests use it: where it is, the view from
 * outside its namespaces (every client address a relay on 127.0.0.1), Kerberos
 * tickets for the API hosts' own principals, a Sentinel-aware Redis client,
 * and the Redis servers' faults (SIGKILL, a restart as a replica, a failover).
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import IORedis, { type Redis } from 'ioredis';
import { GSS_MECH_OID_SPNEGO, initializeClient } from 'kerberos';
import { readPid } from '../../tools/devstack/processes';
import { serviceSpec } from '../../tools/devstack/services';
import type { ServiceName, StackInfo } from '../../tools/devstack/types';
import { HOSTS_CLI, type HostsState, outsideNatMap, outsideView, readHostsState, runOnHost } from '../../tools/hosts/harness';
import { fqdn, topology } from '../../tools/hosts/topology';

const exec = promisify(execFile);

import { HOSTS_STACK_DIR } from './paths';

export { HOSTS_BASE_PORT, HOSTS_STACK_DIR } from './paths';

export type ApiHost = 'phosphoric-acid' | 'coffee';

export interface HostsStack {
  /** The stack as its hosts see it (names). */
  inside: StackInfo;
  /** The stack as this process reaches it (the relay). */
  outside: StackInfo;
  state: HostsState;
}

let cached: HostsStack | undefined;

/** The running multi-host stack (test/hosts/global-setup.ts started it). */
export function hostsStack(): HostsStack {
  if (cached) return cached;
  const state = readHostsState(HOSTS_STACK_DIR);
  let inside: StackInfo;
  try {
    inside = JSON.parse(readFileSync(resolve(HOSTS_STACK_DIR, 'stack.json'), 'utf8')) as StackInfo;
  } catch {
    throw new Error(`no multi-host stack in ${HOSTS_STACK_DIR}: run the tests through jest's hosts project`);
  }
  if (!state) throw new Error(`no ${HOSTS_STACK_DIR}/net/hosts.json: run the tests through jest's hosts project`);
  cached = { inside, outside: outsideView(inside, state), state };
  return cached;
}

/** Kerberos tickets for the seeded users, and SPNEGO tokens for either API host's own principal. */
export class HostTickets {
  constructor(private readonly stack: HostsStack) {
    if (!process.env.KRB5CCNAME?.startsWith('DIR:')) throw new Error('KRB5CCNAME is not the DIR: collection test/hosts/global-setup.ts sets');
  }

  async kinit(uid: 'ctdalek' | 'office1' | 'regular1'): Promise<void> {
    await new Promise<void>((res, rej) => {
      const child = execFile('kinit', [uid], { env: { ...process.env, KRB5_CONFIG: this.stack.outside.krb5.config } }, (err, _o, stderr) => (err ? rej(new Error(`kinit ${uid}: ${stderr}`)) : res()));
      child.stdin!.end(`${this.stack.inside.users[uid].password}\n`);
    });
  }

  /** A fresh token for `ceod/<host>.csclub.internal`: what a client asks for when its URL names that host. */
  async token(uid: string, host: ApiHost): Promise<string> {
    const client = await initializeClient(`ceod@${fqdn(host)}`, { mechOID: GSS_MECH_OID_SPNEGO, principal: `${uid}@${this.stack.inside.realm}` });
    return client.step('');
  }
}

export interface ApiResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

/** The URL this process reaches an API host's ceod at (the relay). */
export const apiUrl = (stack: HostsStack, host: ApiHost) => `https://127.0.0.1:${stack.state.relays.find((r) => r.name === `api-${host}`)!.listen}`;

/** Calls the API on `host` as `as` (a kinit'ed uid; null: no ticket, e.g. with a cookie). */
export async function callApi<T = any>(stack: HostsStack, tickets: HostTickets, host: ApiHost, as: string | null, method: string, path: string, body?: unknown, headers: Record<string, string> = {}, timeoutMs = 30_000): Promise<ApiResponse<T>> {
  const h: Record<string, string> = { ...headers };
  if (as) h.authorization = `Negotiate ${await tickets.token(as, host)}`;
  if (body !== undefined) h['content-type'] ??= 'application/json';
  const res = await fetch(`${apiUrl(stack, host)}${path}`, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(timeoutMs) });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: res.status, headers: res.headers, body: parsed as T };
}

/**
 * A Redis client that follows the master as ceod's processes do, through the
 * Sentinels (via the relay); the servers' names are mapped to their relays.
 */
export function outsideRedis(stack: HostsStack): Redis {
  const s = stack.outside.redis.sentinel!;
  const r = new IORedis({
    sentinels: s.sentinels,
    name: s.masterName,
    sentinelUsername: s.user,
    sentinelPassword: s.password,
    username: stack.inside.redis.user,
    password: stack.inside.redis.password,
    natMap: outsideNatMap(stack.inside, stack.state),
    // Its addresses inside are of no use here.
    updateSentinels: false,
    maxRetriesPerRequest: null,
    sentinelRetryStrategy: (n) => Math.min(n * 100, 1000),
    reconnectOnError: (e) => (/^(READONLY|UNBLOCKED)/.test(e.message) ? 2 : false),
  });
  r.on('error', () => undefined);
  return r;
}

/** A plain client of one Redis server or Sentinel, through its relay (for ROLE, CLIENT LIST, SENTINEL …). */
export function relayClient(stack: HostsStack, name: 'redis' | 'redis-replica' | 'sentinel-1' | 'sentinel-2' | 'sentinel-3'): Redis {
  const port = stack.state.relays.find((r) => r.name === name)!.listen;
  const s = stack.inside.redis.sentinel!;
  const auth = name.startsWith('sentinel') ? { username: s.user, password: s.password } : { username: stack.inside.redis.user, password: stack.inside.redis.password };
  const r = new IORedis({ host: '127.0.0.1', port, ...auth, maxRetriesPerRequest: 1, retryStrategy: () => null, connectTimeout: 2000, lazyConnect: true });
  r.on('error', () => undefined);
  return r;
}

/** Which server the Sentinels call master now (its name inside and port), asking each until one answers. */
export async function sentinelMaster(stack: HostsStack): Promise<{ host: string; port: number } | null> {
  for (const name of ['sentinel-1', 'sentinel-2', 'sentinel-3'] as const) {
    const c = relayClient(stack, name);
    try {
      await c.connect();
      const a = (await c.call('SENTINEL', 'get-master-addr-by-name', stack.inside.redis.sentinel!.masterName)) as [string, string] | null;
      if (a) return { host: a[0], port: Number(a[1]) };
    } catch {
      // ask the next
    } finally {
      c.disconnect();
    }
  }
  return null;
}

/** The Redis service (`redis` or `redis-replica`) behind a Sentinel's answer. */
export function redisServiceAt(stack: HostsStack, at: { host: string; port: number }): 'redis' | 'redis-replica' {
  return at.port === stack.inside.redis.port && at.host === stack.inside.redis.host ? 'redis' : 'redis-replica';
}

/** Sends a signal to a server of the stack, by its pid file; resolves its pid. */
export function signalService(stack: HostsStack, name: ServiceName, signal: NodeJS.Signals): number {
  const pid = readPid(serviceSpec(stack.inside, name).pidFile);
  if (!pid) throw new Error(`${name} has no pid`);
  process.kill(pid, signal);
  return pid;
}

/** Waits until a pid is gone. */
export async function waitGone(pid: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    if (Date.now() > deadline) throw new Error(`pid ${pid} still there`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Starts a server of the stack again, from the client host (its probe reaches
 * it by name); `replicaOf` makes a Redis server start as that master's replica.
 */
export async function startServiceOnHosts(stack: HostsStack, name: ServiceName, opts: { replicaOf?: { host: string; port: number } } = {}): Promise<void> {
  const t = topology(stack.inside.dir, stack.state.basePort);
  const args = [HOSTS_CLI, 'inside-service', '--dir', stack.inside.dir, '--service', name];
  if (opts.replicaOf) args.push('--replicaof', `${opts.replicaOf.host}:${opts.replicaOf.port}`);
  await runOnHost(t, 'client', process.execPath, args);
}

export { exec };
