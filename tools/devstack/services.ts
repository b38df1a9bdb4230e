/**
 * The processes of a stack as data: how each is spawned, how to tell it
 * answers, how it is stopped. `stack.ts` runs them all the same way.
 */
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, logFile, pidFile, stackLayout } from './layout';
import { krb5ServerEnv } from './krb5';
import { MAILMAN_MASTER } from './mailman';
import { mariadbdArgs } from './mariadb';
import { postgresArgs, postgresBinDir, postgresRunAs } from './postgres';
import { bindOf, hostOf, placedSpawn } from './placement';
import { redisAuth, sentinelAuth } from './redis';
import { DevstackError, findBinary, type SpawnSpec } from './processes';
import { basicAuth, httpAnswers, httpsAnswers, mysqlAnswers, postgresAnswers, redisAnswers, smtpAnswers, tcpAnswers } from './probes';
import { SENTINEL_SERVICE_NAMES, SERVICE_NAMES, type CeodName, type ServiceName, type StackInfo } from './types';

export { findBinary };

export interface ProcessSpec {
  name: ServiceName | `ceod-${CeodName}`;
  spawn: () => SpawnSpec;
  /** null: nothing to probe (a worker); it only has to stay alive. */
  probe: (() => Promise<boolean>) | null;
  endpoint: string;
  stopSignal: NodeJS.Signals;
  /** How long a stop may take before SIGKILL. */
  graceMs: number;
  readyTimeoutMs: number;
  logFile: string;
  pidFile: string;
}

/** A copy of our environment without anything that would redirect Kerberos clients. */
function baseEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, LANG: process.env.LANG ?? 'C.UTF-8' };
  delete env.KRB5_CLIENT_KTNAME;
  return env;
}

/**
 * The catcher script to run with node: the compiled one next to this module
 * (running from dist-tools) or in dist-tools/ if it is current; from ts-jest
 * with no build, the TypeScript source transpiled into the stack dir.
 */
function catcherScript(info: StackInfo): { script: string; nodePath?: string } {
  const here = join(__dirname, 'smtp-catcher.js');
  if (__filename.endsWith('.js') && existsSync(here)) return { script: here };
  const dist = join(REPO_ROOT, 'dist-tools', 'devstack', 'smtp-catcher.js');
  const src = join(REPO_ROOT, 'tools', 'devstack', 'smtp-catcher.ts');
  if (existsSync(dist) && (!existsSync(src) || statSync(dist).mtimeMs >= statSync(src).mtimeMs)) return { script: dist };
  if (!existsSync(src)) throw new DevstackError(`no SMTP catcher: neither ${dist} nor ${src} exists`);
  // typescript is a devDependency: present whenever the source tree is being run.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const ts = require('typescript') as typeof import('typescript');
  const out = ts.transpileModule(readFileSync(src, 'utf8'), {
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
  }).outputText;
  const script = join(info.dir, 'run', 'smtp-catcher.js');
  writeFileSync(script, out);
  return { script, nodePath: join(REPO_ROOT, 'node_modules') };
}

/** The Sentinel topology of a stack that must have one to run `name`. */
function sentinelOf(info: StackInfo, name: ServiceName): NonNullable<StackInfo['redis']['sentinel']> {
  const s = info.redis.sentinel;
  if (!s) throw new DevstackError(`${name}: this stack's Redis does not run behind Sentinel`);
  return s;
}

/** The servers of this stack, in start order: the Sentinel topology's only when it has one. */
export function stackServices(info: Pick<StackInfo, 'redis'>): ServiceName[] {
  return info.redis.sentinel ? [...SERVICE_NAMES, ...SENTINEL_SERVICE_NAMES] : [...SERVICE_NAMES];
}

/** The spec of one server of the stack. */
export function serviceSpec(info: StackInfo, name: ServiceName): ProcessSpec {
  const layout = stackLayout(info.dir);
  const common = {
    name,
    logFile: logFile(layout, name),
    pidFile: pidFile(layout, name),
    graceMs: 10000,
    readyTimeoutMs: 30000,
    stopSignal: 'SIGTERM' as NodeJS.Signals,
  };
  // Started where the placement says (a network namespace), or here.
  const spec = (cmd: string, args: string[], env: NodeJS.ProcessEnv = baseEnv()): (() => SpawnSpec) => () =>
    placedSpawn(info, name, {
      name,
      cmd,
      args,
      env,
      cwd: info.dir,
      logFile: common.logFile,
      pidFile: common.pidFile,
    });
  // Probes reach a server by the name clients use (run from where those names resolve).
  const at = (port: number) => ({ host: hostOf(info.placement, name), port });
  switch (name) {
    case 'slapd':
      return {
        ...common,
        // slapd finishes its writes and exits on SIGINT (~1.5 s).
        stopSignal: 'SIGINT',
        // -d 0: stay in the foreground (so the pid is ours) without debug output.
        spawn: spec(findBinary('slapd'), ['-f', info.ldap.configFile, '-h', `ldap://${bindOf(info.placement, 'slapd')}:${info.ports.ldap}/`, '-d', '0']),
        probe: () => tcpAnswers(at(info.ports.ldap)),
        endpoint: info.ldap.url,
      };
    case 'krb5kdc':
      return {
        ...common,
        spawn: spec(findBinary('krb5kdc'), ['-n', '-P', join(layout.krb5Dir, 'krb5kdc.pid')], krb5ServerEnv(info, baseEnv())),
        probe: () => tcpAnswers(at(info.ports.kdc)),
        endpoint: `tcp/udp ${info.krb5.kdcAddress}`,
      };
    case 'kadmind':
      return {
        ...common,
        spawn: spec(findBinary('kadmind'), ['-nofork', '-P', join(layout.krb5Dir, 'kadmind.pid')], krb5ServerEnv(info, baseEnv())),
        probe: () => tcpAnswers(at(info.ports.kadmind)),
        endpoint: `${info.krb5.kadmindAddress} (kpasswd ${info.ports.kpasswd})`,
      };
    case 'redis':
      return {
        ...common,
        spawn: spec(findBinary('redis-server'), [info.redis.configFile]),
        // As ceod: the default user is off, so an answer also proves the ACL took.
        probe: () => redisAnswers(at(info.ports.redis), info.redis.user ? redisAuth(info) : undefined),
        endpoint: info.redis.url,
      };
    case 'redis-replica': {
      const r = sentinelOf(info, name);
      return {
        ...common,
        spawn: spec(findBinary('redis-server'), [r.replica.configFile]),
        probe: () => redisAnswers(at(r.replica.port), redisAuth(info)),
        endpoint: `redis://${r.replica.host}:${r.replica.port}`,
      };
    }
    case 'sentinel-1':
    case 'sentinel-2':
    case 'sentinel-3': {
      const r = sentinelOf(info, name);
      const i = Number(name.slice(-1)) - 1;
      return {
        ...common,
        spawn: spec(findBinary('redis-server'), [r.configFiles[i]!, '--sentinel']),
        probe: () => redisAnswers(at(r.sentinels[i]!.port), sentinelAuth(info)),
        endpoint: `sentinel ${r.sentinels[i]!.host}:${r.sentinels[i]!.port}`,
      };
    }
    case 'mailman':
      return {
        ...common,
        // Stopping the master and its runners takes ~4 s.
        graceMs: 20000,
        // First start creates the database: allow for a slow CI machine.
        readyTimeoutMs: 120000,
        // --force: a lock left by a killed master is cleared if its pid is gone.
        spawn: spec(MAILMAN_MASTER, ['--force', '-C', info.mailman.configFile]),
        probe: () =>
          httpAnswers(`${info.mailman.url}/system/versions`, { authorization: basicAuth(info.mailman.user, info.mailman.password) }),
        endpoint: `${info.mailman.url}/system/versions`,
      };
    case 'smtp':
      return {
        ...common,
        graceMs: 5000,
        spawn: () => {
          const { script, nodePath } = catcherScript(info);
          const env = baseEnv();
          if (nodePath) env.NODE_PATH = nodePath;
          mkdirSync(info.smtp.mailDir, { recursive: true });
          return spec(process.execPath, [script, '--host', bindOf(info.placement, 'smtp'), '--port', String(info.smtp.port), '--dir', info.smtp.mailDir], env)();
        },
        probe: () => smtpAnswers(at(info.smtp.port)),
        endpoint: `smtp://${info.smtp.host}:${info.smtp.port}`,
      };
    // The two below resolve binaries and read info.mysql / info.postgres only
    // when spawned: `status` and `down` work on a stack.json from before they existed.
    case 'mariadb':
      return {
        ...common,
        // InnoDB flushes its buffer pool on a clean shutdown: allow for it.
        graceMs: 30000,
        spawn: () => spec(findBinary('mariadbd'), mariadbdArgs(info))(),
        probe: () => mysqlAnswers(at(info.ports.mysql)),
        endpoint: `mysql://${info.mysql.host}:${info.ports.mysql}`,
      };
    case 'postgres':
      return {
        ...common,
        // SIGINT is the fast shutdown (SIGTERM would wait for every client to leave).
        stopSignal: 'SIGINT',
        graceMs: 30000,
        spawn: () => {
          const who = postgresRunAs();
          // postgres refuses root; its dir is owned by the user it runs as.
          const s: SpawnSpec = {
            name,
            cmd: join(postgresBinDir().dir, 'postgres'),
            args: postgresArgs(info),
            env: baseEnv(),
            cwd: layout.postgresDir,
            logFile: common.logFile,
            pidFile: common.pidFile,
            ...(who ? { uid: who.uid, gid: who.gid } : {}),
          };
          return placedSpawn(info, name, s);
        },
        probe: () => postgresAnswers(at(info.ports.postgres), info.postgres?.adminUser ?? 'postgres'),
        endpoint: `postgresql://${info.postgres?.host ?? '127.0.0.1'}:${info.ports.postgres}`,
      };
  }
}

/** The ceod entry point the CLI spawns (written by the app, built by `npm run build`). */
export const CEOD_MAIN = join(REPO_ROOT, 'dist', 'main.js');

/** The spec of a ceod process: `node dist/main.js api|worker --config DIR/hosts/<name>.ini`. */
export function ceodSpec(info: StackInfo, name: CeodName): ProcessSpec {
  const layout = stackLayout(info.dir);
  const procName = `ceod-${name}` as const;
  const env = baseEnv();
  // The API accepts with the service keytab; each process gets its own ccache.
  env.KRB5_CONFIG = info.krb5.config;
  env.KRB5RCACHEDIR = info.krb5.rcacheDir;
  env.KRB5_KTNAME = `FILE:${info.krb5.serviceKeytab}`;
  env.KRB5CCNAME = `FILE:${join(layout.runDir, `ccache-${procName}`)}`;
  const args = [CEOD_MAIN, name === 'api' ? 'api' : 'worker', '--config', info.configs[name]];
  return {
    name: procName,
    logFile: logFile(layout, procName),
    pidFile: pidFile(layout, procName),
    stopSignal: 'SIGTERM',
    // ceod drains for shutdown_grace_ms (20 s by default) before it exits.
    graceMs: 25000,
    readyTimeoutMs: 60000,
    spawn: () => {
      if (!existsSync(CEOD_MAIN)) throw new DevstackError(`${CEOD_MAIN} does not exist: run npm run build first`);
      return { name: procName, cmd: process.execPath, args, env, cwd: REPO_ROOT, logFile: logFile(layout, procName), pidFile: pidFile(layout, procName) };
    },
    probe: name === 'api' ? () => httpsAnswers(`${info.ceod.url}/health`, info.tls.caFile) : null,
    endpoint: name === 'api' ? `${info.ceod.url}/health` : `worker (${info.configs[name]})`,
  };
}
