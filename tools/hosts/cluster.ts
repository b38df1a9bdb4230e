/**
 * ceod's processes on the hosts of a multi-host stack, as a sysadmin would
 * run them: `node dist/main.js api|worker --config FILE` on each host (in its
 * namespace, with the hosts file as /etc/hosts), each config naming its host,
 * binding its host's address and reaching every server by name.
 *
 * | process                | host            | config                                     |
 * | ---------------------- | --------------- | ------------------------------------------ |
 * | phosphoric-acid/api    | phosphoric-acid | API on its address, ceod/phosphoric-acid.… |
 * | phosphoric-acid/worker | phosphoric-acid | roles admin,fs                              |
 * | mail/worker            | mail            | roles mail                                  |
 * | coffee/worker          | coffee          | roles db                                    |
 * | coffee/api             | coffee          | a second API, ceod/coffee.…                 |
 *
 * Tests start them as children (`startHostsCeod`); `cli.js up --with-ceod`
 * starts them detached with pid files (`spawnHostsCeodDetached`).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'ini';
import { Agent, fetch as undiciFetch } from 'undici';
import { inNetns } from '../devstack/placement';
import { spawnDetached } from '../devstack/processes';
import { REPO_ROOT, stackLayout } from '../devstack/layout';
import type { CeodName, StackInfo } from '../devstack/types';
import { type HostsState, relayPort } from './harness';
import { type CeodProc, CEOD_PROCS, fqdn, type HostName, topology, WORKER_ROLES } from './topology';

export const MAIN = join(REPO_ROOT, 'dist', 'main.js');

/** INI edits: `{ section: { key: value } }`. */
export type IniEdits = Record<string, Record<string, string | number>>;

const hostOfProc = (p: CeodProc): HostName => p.split('/')[0] as HostName;
const isApi = (p: CeodProc) => p.endsWith('/api');

/** The config text of one process: the stack's generated one for its role, moved to its host. */
export function hostsConfigText(info: StackInfo, state: HostsState, proc: CeodProc, edits: IniEdits[] = []): string {
  const host = hostOfProc(proc);
  // The stack's per-role configs already reach every server by name; the API's is the base of both APIs.
  const base: CeodName = isApi(proc) ? 'api' : host === 'phosphoric-acid' ? 'admin' : host === 'mail' ? 'mail' : 'db';
  const ini = parse(readFileSync(info.configs[base], 'utf8'));
  ini.ceod.host = fqdn(host);
  if (isApi(proc)) {
    ini.ceod.roles = '';
    ini.ceod.api_listen = `${state.addresses[host]}:${info.ports.ceodApi}`;
    const principal = info.ceod.hostPrincipals?.[fqdn(host)];
    if (!principal) throw new Error(`no ceod/${fqdn(host)} principal in the stack (apiHosts)`);
    ini.kerberos.service_principal = principal.principal;
    ini.kerberos.service_keytab = principal.keytab;
  } else {
    ini.ceod.roles = WORKER_ROLES[host]!.join(',');
    delete ini.ceod.api_listen;
  }
  for (const e of edits) for (const [section, kv] of Object.entries(e)) ini[section] = { ...ini[section], ...kv };
  return stringify(ini);
}

/** Environment of a ceod process on a host: the stack's krb5.conf (names inside), a ccache of its own. */
function ceodEnv(info: StackInfo, ccache: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra, KRB5_CONFIG: info.krb5.config, KRB5RCACHEDIR: info.krb5.rcacheDir, KRB5CCNAME: `FILE:${ccache}` };
  delete env.KRB5_CLIENT_KTNAME;
  return env;
}

export interface HostsCluster {
  prefix: string;
  dir: string;
  configs: Record<CeodProc, string>;
  procs: Map<CeodProc, ChildProcess>;
  /** The API of a host as clients outside reach it: through the relay on 127.0.0.1. */
  apiUrl(host: 'phosphoric-acid' | 'coffee'): string;
  start(proc: CeodProc): Promise<void>;
  /** Signals a process and waits for it to exit; resolves its exit code. */
  kill(proc: CeodProc, signal?: NodeJS.Signals): Promise<number | null>;
  stop(): Promise<void>;
  logs(proc: CeodProc): string;
}

const logName = (p: CeodProc) => p.replace('/', '-');

/**
 * Starts ceod's processes on their hosts with a private Redis prefix, each a
 * child of this process; waits until the workers say "worker ready" and the
 * APIs answer /health through the relay.
 */
export async function startHostsCeod(
  info: StackInfo,
  state: HostsState,
  opts: { name: string; procs?: CeodProc[]; edits?: Partial<Record<CeodProc | 'all', IniEdits>>; env?: NodeJS.ProcessEnv } = { name: 'hosts' },
): Promise<HostsCluster> {
  const dir = mkdtempSync(join(tmpdir(), `ceod-${opts.name}-`));
  mkdirSync(join(dir, 'logs'));
  const prefix = `t-${opts.name}-${Math.random().toString(36).slice(2, 8)}`;
  const t = topology(info.dir, state.basePort);
  const configs = {} as Record<CeodProc, string>;
  for (const p of CEOD_PROCS) {
    const fast = { redis: { prefix }, ceod: { lock_duration_ms: 3000, stalled_interval_ms: 1000, step_backoff_ms: 200, step_backoff_max_ms: 2000, shutdown_grace_ms: 5000 } };
    configs[p] = join(dir, `${logName(p)}.ini`);
    writeFileSync(configs[p], hostsConfigText(info, state, p, [fast, opts.edits?.all ?? {}, opts.edits?.[p] ?? {}]), { mode: 0o600 });
  }
  // The APIs serve HTTPS with the stack's CA; this process may not trust it otherwise.
  const trustStackCa = new Agent({ connect: { ca: readFileSync(info.tls.caFile, 'utf8') } });
  const procs = new Map<CeodProc, ChildProcess>();
  const exits = new Map<CeodProc, Promise<number | null>>();
  const cluster: HostsCluster = {
    prefix,
    dir,
    configs,
    procs,
    apiUrl: (host) => `https://127.0.0.1:${relayPort(state, `api-${host}`)}`,
    async start(p) {
      const out = createWriteStream(join(dir, 'logs', `${logName(p)}.log`), { flags: 'a' });
      const before = cluster.logs(p).length;
      const w = inNetns(t.netns(hostOfProc(p)), t.hostsFile, process.execPath, [MAIN, isApi(p) ? 'api' : 'worker', '--config', configs[p]]);
      const child = spawn(w.cmd, w.args, { env: ceodEnv(info, join(dir, `ccache-${logName(p)}`), { ...opts.env, ...w.env }), stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout!.pipe(out);
      child.stderr!.pipe(out);
      procs.set(p, child);
      exits.set(p, new Promise((resolve) => child.on('exit', (code) => resolve(code))));
      const ready = isApi(p) ? 'API listening' : 'worker ready';
      const deadline = Date.now() + 60_000;
      while (!cluster.logs(p).slice(before).includes(ready)) {
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${p} exited before it was ready:\n${cluster.logs(p).slice(before).slice(-3000)}`);
        if (Date.now() > deadline) throw new Error(`${p} not ready within 60 s:\n${cluster.logs(p).slice(before).slice(-3000)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      if (isApi(p)) {
        const url = `${cluster.apiUrl(hostOfProc(p) as 'phosphoric-acid' | 'coffee')}/health`;
        while (!(await undiciFetch(url, { dispatcher: trustStackCa }).then((r) => r.ok, () => false))) {
          if (Date.now() > deadline) throw new Error(`${p}: ${url} does not answer`);
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    },
    async kill(p, signal = 'SIGTERM') {
      const child = procs.get(p);
      if (!child || child.exitCode !== null || child.signalCode !== null) return child?.exitCode ?? null;
      child.kill(signal);
      const code = await exits.get(p)!;
      procs.delete(p);
      return code;
    },
    async stop() {
      await Promise.all([...procs.keys()].map((p) => cluster.kill(p)));
    },
    logs(p) {
      try {
        return readFileSync(join(dir, 'logs', `${logName(p)}.log`), 'utf8');
      } catch {
        return '';
      }
    },
  };
  try {
    const want = opts.procs ?? [...CEOD_PROCS];
    await Promise.all(want.filter((p) => !isApi(p)).map((p) => cluster.start(p)));
    await Promise.all(want.filter(isApi).map((p) => cluster.start(p)));
  } catch (e) {
    await cluster.stop();
    throw e;
  }
  return cluster;
}

/** Pid file and log of a detached ceod process of the dev layout. */
export function detachedFiles(info: StackInfo, p: CeodProc): { pidFile: string; logFile: string; config: string } {
  const layout = stackLayout(info.dir);
  return { pidFile: join(layout.runDir, `ceod-${logName(p)}.pid`), logFile: join(layout.logsDir, `ceod-${logName(p)}.log`), config: join(layout.hostsDir, `${logName(p)}.ini`) };
}

/** Starts one ceod process detached (for `cli.js up --with-ceod`), with the stack's own prefix; resolves its pid. */
export function spawnHostsCeodDetached(info: StackInfo, state: HostsState, p: CeodProc): number {
  const t = topology(info.dir, state.basePort);
  const f = detachedFiles(info, p);
  writeFileSync(f.config, hostsConfigText(info, state, p), { mode: 0o600 });
  const w = inNetns(t.netns(hostOfProc(p)), t.hostsFile, process.execPath, [MAIN, isApi(p) ? 'api' : 'worker', '--config', f.config]);
  const child = spawnDetached({ name: `ceod-${logName(p)}`, cmd: w.cmd, args: w.args, env: ceodEnv(info, join(stackLayout(info.dir).runDir, `ccache-${logName(p)}`), w.env), cwd: REPO_ROOT, logFile: f.logFile, pidFile: f.pidFile });
  return child.pid!;
}
