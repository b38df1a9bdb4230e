/**
 * Starting and stopping a whole stack, or one of its servers.
 *
 * Start: write every config (they derive from the dir, base port and secrets,
 * so rewriting is harmless), create the realm, the database dirs and the dev CA
 * once, spawn the servers that are not running — in parallel — wait until each
 * answers, then ensure the seed and the database admin users. A server whose
 * config changed (an upgrade of this code) is restarted. A start on a stack
 * that is fully up only checks it answers.
 */
import { chownSync, cpSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeCeodConfigs } from './ceod-configs';
import { writeEnvFile } from './env-file';
import { ensureRealm, writeKrb5Config } from './krb5';
import { pidFile, stackLayout, type StackLayout } from './layout';
import { ensureMailmanSeed, writeMailmanConfig } from './mailman';
import { ensureMariadbAdmin, ensureMariadbData } from './mariadb';
import { ensurePostgresAdmin, ensurePostgresData, writePostgresConfig } from './postgres';
import { DevstackError, isOurProcess, logTail, readPid, removePidFile, spawnDetached, stopPid, waitUntilAnswers } from './processes';
import { tcpAnswers } from './probes';
import { bindOf, hostOf } from './placement';
import { writeRedisConfig, writeSentinelTopology } from './redis';
import { ensureSecrets, type StackSecrets } from './secrets';
import { SEED_USERS } from './seed';
import { ceodSpec, serviceSpec, stackServices, type ProcessSpec } from './services';
import { ensureLdapSeed, writeSlapdConfig } from './slapd';
import { buildStackInfo, readStackInfo } from './stack-info';
import { withStackLock } from './stack-lock';
import { ensureTls } from './tls';
import { CEOD_NAMES, SENTINEL_SERVICE_NAMES, type CeodName, type ProcessStatus, type ServiceName, type StackInfo, type StartOptions } from './types';

type ProcName = ProcessSpec['name'];

/** What `upStack` did: the stack, and the processes this call started (the rest were already running). */
export interface UpResult {
  info: StackInfo;
  started: ProcName[];
}

const quiet = () => undefined;

function isRunning(info: StackInfo, spec: ProcessSpec): boolean {
  return isOurProcess(readPid(spec.pidFile), info.dir);
}

/** The address whose being taken by a stranger would make the spawn fail. */
function portOf(info: StackInfo, name: ProcName): { host: string; port: number } | null {
  const at = (service: ServiceName, port: number) => ({ host: hostOf(info.placement, service), port });
  switch (name) {
    case 'slapd':
      return at(name, info.ports.ldap);
    case 'krb5kdc':
      return at(name, info.ports.kdc);
    case 'kadmind':
      return at(name, info.ports.kadmind);
    case 'redis':
      return at(name, info.ports.redis);
    case 'redis-replica':
      return at(name, info.ports.redisReplica);
    case 'sentinel-1':
      return at(name, info.ports.sentinel1);
    case 'sentinel-2':
      return at(name, info.ports.sentinel2);
    case 'sentinel-3':
      return at(name, info.ports.sentinel3);
    case 'mailman':
      return at(name, info.ports.mailmanRest);
    case 'smtp':
      return at(name, info.ports.smtp);
    case 'mariadb':
      return at(name, info.ports.mysql);
    case 'postgres':
      return at(name, info.ports.postgres);
    case 'ceod-api':
      return { host: '127.0.0.1', port: info.ports.ceodApi };
    default:
      return null;
  }
}

/** Starts one process unless it runs; waits until it answers. Resolves true if it was started. */
async function ensureRunning(info: StackInfo, spec: ProcessSpec, log: (l: string) => void): Promise<boolean> {
  if (isRunning(info, spec)) {
    if (spec.probe) {
      await waitUntilAnswers({ name: spec.name, endpoint: spec.endpoint, probe: spec.probe, timeoutMs: spec.readyTimeoutMs, logFile: spec.logFile });
    }
    return false;
  }
  const target = portOf(info, spec.name);
  if (target !== null && (await tcpAnswers(target, 500))) {
    throw new DevstackError(
      `${spec.name}: port ${target.port} on ${target.host} is already in use by a process that is not this stack's (another stack on the same base port?); see ss -ltnp`,
    );
  }
  const t0 = Date.now();
  const child = spawnDetached(spec.spawn());
  if (spec.probe) {
    try {
      await waitUntilAnswers({ name: spec.name, endpoint: spec.endpoint, probe: spec.probe, timeoutMs: spec.readyTimeoutMs, logFile: spec.logFile, child });
    } catch (e) {
      // Spawned but not answering: do not leave it running (it is in no one's `started` list).
      if (child.pid !== undefined && isOurProcess(child.pid, info.dir)) await stopPid(child.pid, spec.stopSignal, spec.graceMs);
      removePidFile(spec.pidFile);
      throw e;
    }
  }
  log(`${spec.name}: started, pid ${child.pid}, ${spec.probe ? `answering on ${spec.endpoint}` : 'running'} after ${Date.now() - t0} ms`);
  return true;
}

async function stopProcess(info: StackInfo, spec: Pick<ProcessSpec, 'name' | 'pidFile' | 'stopSignal' | 'graceMs'>, log: (l: string) => void): Promise<boolean> {
  const pid = readPid(spec.pidFile);
  if (!isOurProcess(pid, info.dir)) {
    removePidFile(spec.pidFile);
    return false;
  }
  const t0 = Date.now();
  const clean = await stopPid(pid as number, spec.stopSignal, spec.graceMs);
  removePidFile(spec.pidFile);
  log(`${spec.name}: stopped${clean ? '' : ' (killed after ' + spec.graceMs + ' ms)'} in ${Date.now() - t0} ms`);
  return true;
}

/** Home directories of the seeded users, from skel, owned by them when we can chown. */
function ensureSeedHomes(info: StackInfo): void {
  mkdirSync(info.homeRoot, { recursive: true });
  const canChown = typeof process.getuid === 'function' && process.getuid() === 0;
  for (const u of SEED_USERS) {
    const home = info.users[u.uid].homeDirectory;
    if (existsSync(home)) continue;
    cpSync(info.skelDir, home, { recursive: true });
    if (canChown) {
      chownSync(home, u.uidNumber, u.uidNumber);
      for (const f of readdirSync(home)) chownSync(join(home, f), u.uidNumber, u.uidNumber);
    }
  }
}

/**
 * Writes everything that derives from the dir, the base port and the secrets.
 * Returns the running-or-not servers whose config text changed, which must restart to apply it.
 */
function writeStackFiles(info: StackInfo, layout: StackLayout, secrets: StackSecrets): ServiceName[] {
  for (const d of [layout.runDir, layout.logsDir, layout.hostsDir, layout.mailDir, layout.skelDir, layout.redisDir, layout.ldapDir, layout.mailmanDir, layout.mariadbDir]) {
    mkdirSync(d, { recursive: true });
  }
  const changed: ServiceName[] = [];
  const placement = info.placement;
  writeFileSync(layout.stackFile, `${JSON.stringify(info, null, 2)}\n`, { mode: 0o600 });
  writeEnvFile(info);
  writeSlapdConfig(layout, secrets.ldapAdminPassword);
  writeKrb5Config(layout, info.ports, placement);
  // Behind Sentinel, the Redis configs are written when the topology is made (see upStack).
  if (!info.redis.sentinel && writeRedisConfig(layout, info.ports.redis, secrets.redisPassword, bindOf(placement, 'redis'))) changed.push('redis');
  writeMailmanConfig(layout, info.ports, secrets.mailmanPassword, placement);
  writePostgresConfig(layout, placement?.clientNetworks ?? []);
  writeCeodConfigs(info, layout.hostsDir);
  const bashrc = join(layout.skelDir, '.bashrc');
  if (!existsSync(bashrc)) {
    writeFileSync(bashrc, '# ~/.bashrc from the ceod dev stack skel\n[ -z "$PS1" ] && return\nPS1=\'\\u@\\h:\\w\\$ \'\nalias ll=\'ls -l\'\n');
  }
  return changed;
}

/** Starts the ceod API and workers that are not running; waits for the API's /health and checks the workers stay up. */
async function ensureCeod(info: StackInfo, log: (l: string) => void): Promise<ProcName[]> {
  const specs = CEOD_NAMES.map((n) => ceodSpec(info, n));
  const started: ProcName[] = [];
  const results = await Promise.allSettled(
    specs.map(async (s) => {
      if (await ensureRunning(info, s, log)) started.push(s.name);
    }),
  );
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (!failed) {
    if (started.length === 0) return started;
    // A worker that cannot reach a server exits soon after start: give it a moment to do so.
    await new Promise((r) => setTimeout(r, 1500));
    const dead = specs.filter((s) => !isRunning(info, s));
    if (dead.length === 0) return started;
    const msg = dead.map((s) => `${s.name} exited; see ${s.logFile}:\n${logTail(s.logFile)}`).join('\n');
    await Promise.all(specs.filter((s) => started.includes(s.name)).map((s) => stopProcess(info, s, log)));
    throw new DevstackError(msg);
  }
  await Promise.all(specs.filter((s) => started.includes(s.name)).map((s) => stopProcess(info, s, log)));
  throw failed.reason;
}

/**
 * Starts (creating on first run) the stack in `opts.dir`, or reuses it if it
 * runs; reports which processes it started. On failure it stops what it started.
 */
export async function upStack(opts: StartOptions): Promise<UpResult> {
  const layout = stackLayout(opts.dir);
  const log = opts.log ?? quiet;
  mkdirSync(layout.root, { recursive: true });
  return withStackLock(layout, async () => {
    const t0 = Date.now();
    const previous = readStackInfo(layout.root);
    const wantSentinel = opts.redis === 'sentinel';
    if (previous) {
      const running = stackServices(previous).filter((n) => isRunning(previous, serviceSpec(previous, n)));
      if (running.length > 0 && previous.basePort !== opts.basePort) {
        throw new DevstackError(
          `the stack in ${layout.root} runs on base port ${previous.basePort} (${running.join(', ')} up), not ${opts.basePort}: stop it first or use its base port`,
        );
      }
      if (running.length > 0 && Boolean(previous.redis.sentinel) !== wantSentinel) {
        throw new DevstackError(`the stack in ${layout.root} runs with Redis ${previous.redis.sentinel ? 'behind Sentinel' : 'alone'}: stop it first to change that`);
      }
      if (running.length === stackServices(previous).length) {
        await Promise.all(stackServices(previous).map((n) => ensureRunning(previous, serviceSpec(previous, n), log)));
        // The ceod configs are derived, never edited: a newer checkout's sections reach a stack that kept running.
        writeCeodConfigs(previous, layout.hostsDir);
        // Cheap unless a certificate is missing or expiring: then it is made again, at the same paths.
        const madeTls = await ensureTls(layout, Object.keys(previous.ceod.hostPrincipals ?? {}));
        if (madeTls.length > 0) log(`tls: made ${madeTls.join(', ')} in ${layout.tlsDir}`);
        const started = opts.withCeod ? await ensureCeod(previous, log) : [];
        return { info: previous, started };
      }
    }
    const secrets = ensureSecrets(layout);
    const info = buildStackInfo(layout.root, opts.basePort, secrets, { placement: opts.placement, redis: opts.redis, apiHosts: opts.apiHosts });
    const changed = writeStackFiles(info, layout, secrets);

    const started: ProcName[] = [];
    const start = async (name: ServiceName) => {
      const spec = serviceSpec(info, name);
      if (changed.includes(name) && isRunning(info, spec)) {
        log(`${name}: config changed, restarting`);
        await stopProcess(info, spec, log);
      }
      if (await ensureRunning(info, spec, log)) started.push(name);
    };
    const results = await Promise.allSettled([
      (async () => {
        const made = await ensureRealm(info, secrets.kdcMasterPassword, secrets.userPasswords);
        if (made.length > 0) log(`kerberos: created principals ${made.join(', ')}`);
        await Promise.all([start('krb5kdc'), start('kadmind')]);
      })(),
      (async () => {
        await start('slapd');
        const added = await ensureLdapSeed(info);
        if (added > 0) log(`slapd: added ${added} seed entries`);
      })(),
      (async () => {
        if (!info.redis.sentinel) return start('redis');
        // A topology none of whose servers runs is made afresh (the first master,
        // its replica); one that runs belongs to the Sentinels, whatever they made of it.
        const topology = ['redis', ...SENTINEL_SERVICE_NAMES] as const;
        if (!topology.some((n) => isRunning(info, serviceSpec(info, n)))) {
          writeSentinelTopology(info, layout);
          log('redis: made the Sentinel topology afresh (first master, its replica, three Sentinels)');
        }
        await start('redis');
        await start('redis-replica');
        await Promise.all((['sentinel-1', 'sentinel-2', 'sentinel-3'] as const).map((n) => start(n)));
      })(),
      start('smtp'),
      (async () => {
        await start('mailman');
        const { created, configured } = await ensureMailmanSeed(info);
        if (created.length > 0) log(`mailman: created lists ${created.join(', ')}`);
        if (configured.length > 0) log(`mailman: set the subscription policy of ${configured.join(', ')}`);
      })(),
      (async () => {
        if (await ensureMariadbData(info)) log(`mariadb: created ${info.mysql.dataDir}`);
        await start('mariadb');
        await ensureMariadbAdmin(info);
      })(),
      (async () => {
        if (await ensurePostgresData(info)) log(`postgres: created ${info.postgres.dataDir}`);
        await start('postgres');
        await ensurePostgresAdmin(info);
      })(),
      (async () => {
        const made = await ensureTls(layout, Object.keys(info.ceod.hostPrincipals ?? {}));
        if (made.length > 0) log(`tls: made ${made.join(', ')} in ${layout.tlsDir}`);
      })(),
    ]);
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed.length > 0) {
      await Promise.all(started.map((n) => stopProcess(info, serviceSpec(info, n as ServiceName), log)));
      const msgs = failed.map((f) => (f.reason instanceof Error ? f.reason.message : String(f.reason)));
      throw new DevstackError(`stack in ${layout.root} did not start:\n${msgs.join('\n')}`);
    }
    ensureSeedHomes(info);
    log(`stack: ${started.length > 0 ? `started ${started.join(', ')}` : 'all servers were running'} in ${Date.now() - t0} ms`);
    if (opts.withCeod) started.push(...(await ensureCeod(info, log)));
    return { info, started };
  });
}

/** Starts the stack in `opts.dir` (see `upStack`) and returns its description. */
export async function startStack(opts: StartOptions): Promise<StackInfo> {
  return (await upStack(opts)).info;
}

/** Stops the given processes of a stack: ceod processes first, then the servers, each group in parallel. */
export async function stopProcesses(info: StackInfo, names: readonly ProcName[], log: (l: string) => void = quiet): Promise<void> {
  const ceod = CEOD_NAMES.filter((n) => names.includes(`ceod-${n}`)).map((n) => ceodSpec(info, n));
  await Promise.all(ceod.map((s) => stopProcess(info, s, log)));
  const servers = stackServices(info).filter((n) => names.includes(n)).map((n) => stopSpecOf(info, n));
  await Promise.all(servers.map((s) => stopProcess(info, s, log)));
}

/**
 * What stopping a server needs. A stack.json written by an older version may
 * lack a server's section (MariaDB and PostgreSQL came later): its spec cannot
 * be built, but its pid file, if any, still says what to stop.
 */
function stopSpecOf(info: StackInfo, name: ServiceName): Pick<ProcessSpec, 'name' | 'pidFile' | 'stopSignal' | 'graceMs'> {
  try {
    return serviceSpec(info, name);
  } catch {
    return { name, pidFile: pidFile(stackLayout(info.dir), name), stopSignal: 'SIGTERM', graceMs: 10000 };
  }
}

/** Stops every process of the stack in `dir` (ceod processes first). Data stays for the next start. */
export async function stopStack(dir: string, log: (l: string) => void = quiet): Promise<void> {
  const layout = stackLayout(dir);
  if (!existsSync(layout.stackFile)) return;
  await withStackLock(layout, async () => {
    const info = readStackInfo(layout.root);
    if (!info) return;
    await stopProcesses(info, [...CEOD_NAMES.map((n) => `ceod-${n}` as const), ...stackServices(info)], log);
  });
}

/** Stops one server (to simulate an outage). Resolves once it has exited. */
export async function stopService(info: StackInfo, name: ServiceName): Promise<void> {
  await stopProcess(info, serviceSpec(info, name), quiet);
}

/** Starts one server again; resolves once it answers. */
export async function startService(info: StackInfo, name: ServiceName): Promise<void> {
  await ensureRunning(info, serviceSpec(info, name), quiet);
}

/** Whether each process of the stack in `dir` runs and answers; null if there is no stack there. */
export async function stackStatus(dir: string): Promise<{ info: StackInfo; processes: ProcessStatus[] } | null> {
  const info = readStackInfo(dir);
  if (!info) return null;
  const specs: ProcessSpec[] = [...stackServices(info).map((n) => serviceSpec(info, n)), ...CEOD_NAMES.map((n: CeodName) => ceodSpec(info, n))];
  const processes = await Promise.all(
    specs.map(async (s): Promise<ProcessStatus> => {
      const pid = readPid(s.pidFile);
      const running = isOurProcess(pid, info.dir);
      const answering = running && s.probe ? await s.probe() : null;
      return { name: s.name, pid: running ? pid : null, running, answering, endpoint: s.endpoint, log: s.logFile };
    }),
  );
  return { info, processes };
}
