/**
 * ceod's processes on top of a stack, as a user starts them (`node
 * dist/main.js api|worker --config FILE`), each with its own config written from
 * the stack's, and Kerberos tickets to talk to the API. Shared by the e2e tests
 * (test/helpers/ceod.ts) and the benchmarks (bench/).
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync, createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type AddressInfo } from 'node:net';
import { parse, stringify } from 'ini';
import { GSS_MECH_OID_SPNEGO, initializeClient } from 'kerberos';
import { REPO_ROOT } from './layout';
import { httpAnswers, httpsAnswers } from './probes';
import type { CeodName, StackInfo } from './types';

/** The built ceod entry point. */
export const MAIN = join(REPO_ROOT, 'dist/main.js');

export type ProcName = CeodName;

/** INI edits per process: `{ section: { key: value } }`. */
export type IniEdits = Record<string, Record<string, string | number>>;

export interface CeodCluster {
  url: string;
  /** Each worker's metrics endpoint (`http://127.0.0.1:<port>/metrics`); the API's is `${url}/metrics`. */
  metricsUrls: Partial<Record<ProcName, string>>;
  prefix: string;
  dir: string;
  configs: Record<ProcName, string>;
  procs: Map<ProcName, ChildProcess>;
  start(name: ProcName): Promise<void>;
  kill(name: ProcName, signal?: NodeJS.Signals): Promise<number | null>;
  stop(): Promise<void>;
  logs(name: ProcName): string;
}

/** Whether nothing listens on `port` of 127.0.0.1 right now (we could bind it). */
function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/**
 * A port nobody listens on right now. With a stack, one of the thousand ports
 * above its servers' (base port + 1000 to + 1999), so that it stays below the
 * kernel's ephemeral range (32768–60999), where an outgoing connection can take
 * it before the API binds it (docs/environments.md#ports). Without one, the
 * kernel's pick: only for a port that must merely be closed.
 */
export async function freePort(stack?: Pick<StackInfo, 'basePort'>): Promise<number> {
  if (stack) {
    const first = stack.basePort + 1000;
    const start = Math.floor(Math.random() * 1000);
    for (let i = 0; i < 1000; i++) {
      const port = first + ((start + i) % 1000);
      if (await canListen(port)) return port;
    }
    throw new Error(`no free port from ${first} to ${first + 999}`);
  }
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Starts the API and the role workers against the test stack, with a private
 * Redis prefix and API port, and waits until the API answers /health.
 */
export async function startCeod(
  stack: StackInfo,
  opts: {
    name: string;
    procs?: ProcName[];
    edits?: Partial<Record<ProcName | 'all', IniEdits>>;
    env?: NodeJS.ProcessEnv;
    /** Extra node options for every process, e.g. `--cpu-prof` (which NODE_OPTIONS may not carry). */
    nodeArgs?: string[];
  } = { name: 'e2e' },
): Promise<CeodCluster> {
  const dir = mkdtempSync(join(tmpdir(), `ceod-${opts.name}-`));
  mkdirSync(join(dir, 'logs'));
  const prefix = `t-${opts.name}-${Math.random().toString(36).slice(2, 8)}`;
  const port = await freePort(stack);
  // The workers' metrics ports from the same range, none handed out twice.
  const taken = new Set([port]);
  const anotherPort = async (): Promise<number> => {
    for (;;) {
      const p = await freePort(stack);
      if (taken.has(p)) continue;
      taken.add(p);
      return p;
    }
  };
  const configs = {} as Record<ProcName, string>;
  const metricsUrls: Partial<Record<ProcName, string>> = {};
  for (const name of ['api', 'admin', 'fs', 'mail', 'db'] as ProcName[]) {
    const ini = parse(readFileSync(stack.configs[name], 'utf8'));
    ini.redis.prefix = prefix;
    ini.ceod.lock_duration_ms = 3000;
    ini.ceod.stalled_interval_ms = 1000;
    ini.ceod.step_backoff_ms = 200;
    ini.ceod.step_backoff_max_ms = 2000;
    ini.ceod.shutdown_grace_ms = 5000;
    if (name === 'api') ini.ceod.api_listen = `127.0.0.1:${port}`;
    // A port of its own for each worker's metrics: clusters may run side by side.
    else ini.ceod.metrics_listen = `127.0.0.1:${await anotherPort()}`;
    for (const edits of [opts.edits?.all, opts.edits?.[name]]) {
      for (const [section, kv] of Object.entries(edits ?? {})) ini[section] = { ...ini[section], ...kv };
    }
    if (name !== 'api' && ini.ceod.metrics_listen) metricsUrls[name] = `http://${ini.ceod.metrics_listen}/metrics`;
    configs[name] = join(dir, `${name}.ini`);
    writeFileSync(configs[name], stringify(ini), { mode: 0o600 });
  }
  // HTTPS with the stack's own CA, as in production; plain HTTP where a test turned TLS off.
  const plain = parse(readFileSync(configs.api, 'utf8')).ceod?.tls === 'off';
  const procs = new Map<ProcName, ChildProcess>();
  const exits = new Map<ProcName, Promise<number | null>>();

  const cluster: CeodCluster = {
    url: `${plain ? 'http' : 'https'}://localhost:${port}`,
    metricsUrls,
    prefix,
    dir,
    configs,
    procs,
    async start(name) {
      const out = createWriteStream(join(dir, 'logs', `${name}.log`), { flags: 'a' });
      const env = { ...process.env, ...opts.env };
      delete env.KRB5_CLIENT_KTNAME;
      delete env.KRB5CCNAME;
      env.KRB5RCACHEDIR = stack.krb5.rcacheDir;
      const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), MAIN, name === 'api' ? 'api' : 'worker', '--config', configs[name]], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout!.pipe(out);
      child.stderr!.pipe(out);
      procs.set(name, child);
      exits.set(name, new Promise((resolve) => child.on('exit', (code) => resolve(code))));
      if (name === 'api') {
        const health = `${cluster.url}/health`;
        await waitFor(() => (plain ? httpAnswers(health) : httpsAnswers(health, stack.tls.caFile)), 60_000, `API on ${cluster.url}`, () => cluster.logs('api'));
      }
      else await waitFor(async () => cluster.logs(name).includes('worker ready'), 60_000, `worker ${name}`, () => cluster.logs(name));
    },
    async kill(name, signal = 'SIGTERM') {
      const child = procs.get(name);
      if (!child || child.exitCode !== null || child.signalCode !== null) return child?.exitCode ?? null;
      child.kill(signal);
      const code = await exits.get(name)!;
      procs.delete(name);
      return code;
    },
    async stop() {
      await Promise.all([...procs.keys()].map((n) => cluster.kill(n)));
    },
    logs(name) {
      try {
        return readFileSync(join(dir, 'logs', `${name}.log`), 'utf8');
      } catch {
        return '';
      }
    },
  };
  try {
    await Promise.all((opts.procs ?? ['admin', 'fs', 'mail', 'db']).filter((n) => n !== 'api').map((n) => cluster.start(n)));
    if ((opts.procs ?? ['api']).includes('api')) await cluster.start('api');
  } catch (e) {
    await cluster.stop();
    throw e;
  }
  return cluster;
}

export async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string, detail?: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${detail ? `\n${String(detail()).slice(-3000)}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * A credential cache collection holding tickets of several users, so one test
 * process can act as any of them (the SPNEGO client picks by principal).
 */
export class Tickets {
  /** The collection test/global-setup.ts put in the environment (the library reads only the real one). */
  readonly ccache: string;
  constructor(private readonly stack: StackInfo) {
    const cc = process.env.KRB5CCNAME;
    if (!cc?.startsWith('DIR:')) throw new Error('KRB5CCNAME is not the DIR: collection test/global-setup.ts sets');
    this.ccache = cc;
  }

  env(): NodeJS.ProcessEnv {
    // curl and node children trust the stack's CA, as env.sh makes a developer's shell do.
    const ca = this.stack.tls.caFile;
    const env: NodeJS.ProcessEnv = { ...process.env, KRB5_CONFIG: this.stack.krb5.config, KRB5CCNAME: this.ccache, CURL_CA_BUNDLE: ca, NODE_EXTRA_CA_CERTS: ca };
    delete env.KRB5_CLIENT_KTNAME;
    return env;
  }

  /** `kinit uid` with the password on stdin, as a person would. */
  async kinit(uid: string, password: string): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const child = execFile('kinit', [uid], { env: this.env() }, (err, _out, stderr) => (err ? reject(new Error(`kinit ${uid}: ${stderr}`)) : resolve()));
      child.stdin!.end(`${password}\n`);
    });
  }

  /** A fresh SPNEGO token for `uid` (which must have been kinit'ed) to ceod@localhost. */
  async token(uid: string): Promise<string> {
    const client = await initializeClient('ceod@localhost', { mechOID: GSS_MECH_OID_SPNEGO, principal: `${uid}@${this.stack.realm}` });
    return client.step('');
  }
}

