/**
 * The multi-host stack from the command line (needs root and iproute2):
 *
 *   node dist-tools/hosts/cli.js up     --dir D --base-port N [--redis sentinel|single] [--with-ceod] [--detach]
 *   node dist-tools/hosts/cli.js down   --dir D
 *   node dist-tools/hosts/cli.js status --dir D
 *   node dist-tools/hosts/cli.js shell  --dir D [--host client]      a shell on a host, env.sh sourced
 *   node dist-tools/hosts/cli.js exec   --dir D --host H -- CMD ARGS  a command on a host
 *   node dist-tools/hosts/cli.js link   --dir D --host H up|down      plug or pull a host's cable
 *
 * `up` in the foreground stays until Ctrl-C or SIGTERM, then stops everything
 * and removes the namespaces; `--detach` returns once everything answers, and
 * `down` undoes it. `inside-up` is the start of the servers run on the client
 * host by `up` itself.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { inNetns } from '../devstack/placement';
import { DevstackError, isOurProcess, readPid, removePidFile, stopPid } from '../devstack/processes';
import { readStackInfo } from '../devstack/stack-info';
import { startService, upStack } from '../devstack/stack';
import { stackServices } from '../devstack/services';
import { detachedFiles, spawnHostsCeodDetached } from './cluster';
import { downHostsStack, netDir, readHostsState, relayPort, upHostsStack, type HostsState } from './harness';
import { linkIsUp, networkExists, netnsPids, setLink } from './netns';
import { API_HOSTS, CEOD_PROCS, fqdn, HOST_NAMES, type HostName, placement, topology } from './topology';
import type { ServiceName, StackInfo } from '../devstack/types';

const USAGE = `usage:
  cli.js up     --dir DIR --base-port N [--redis sentinel|single] [--with-ceod] [--detach]
  cli.js down   --dir DIR
  cli.js status --dir DIR
  cli.js shell  --dir DIR [--host HOST]
  cli.js exec   --dir DIR --host HOST -- CMD [ARGS…]
  cli.js link   --dir DIR --host HOST up|down

Hosts: ${HOST_NAMES.join(', ')}. Needs root (ip netns).`;

const say = (line: string) => process.stdout.write(`${line}\n`);
// A reader that goes away (`| head`) must not kill a start or a stop half-way.
process.stdout.on('error', () => undefined);

function need<T>(v: T | null | undefined, what: string): T {
  if (v === null || v === undefined) throw new DevstackError(what);
  return v;
}

function hostArg(v: unknown, fallback?: HostName): HostName {
  const h = (v ?? fallback) as HostName | undefined;
  if (!h || !HOST_NAMES.includes(h)) throw new DevstackError(`--host must be one of ${HOST_NAMES.join(', ')}`);
  return h;
}

/** env.sh for a shell on a host: the stack's, with the API by its host's name. */
function writeHostEnv(info: StackInfo): string {
  const file = join(netDir(info.dir), 'env.sh');
  const urls = API_HOSTS.map((h) => `export CEOD_URL_${h.toUpperCase().replace(/-/g, '_')}=https://${fqdn(h)}:${info.ports.ceodApi}`);
  writeFileSync(
    file,
    `# A shell on a host of the multi-host stack (tools/hosts). Holds passwords: mode 0600.
. ${info.envFile}
export CEOD_URL=https://${fqdn('phosphoric-acid')}:${info.ports.ceodApi}
${urls.join('\n')}
export PS1="[\\$CEOD_HOST] \\w\\$ "
`,
    { mode: 0o600 },
  );
  return file;
}

function runInteractive(t: ReturnType<typeof topology>, host: HostName, cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const w = inNetns(t.netns(host), t.hostsFile, cmd, args);
  return new Promise((resolve) => {
    const child = spawn(w.cmd, w.args, { stdio: 'inherit', env: { ...process.env, ...env, ...w.env, CEOD_HOST: host } });
    child.on('exit', (code, sig) => resolve(code ?? (sig ? 1 : 0)));
  });
}

async function stopDetachedCeod(info: StackInfo): Promise<void> {
  await Promise.all(
    CEOD_PROCS.map(async (p) => {
      const f = detachedFiles(info, p);
      const pid = readPid(f.pidFile);
      if (isOurProcess(pid, info.dir)) await stopPid(pid!, 'SIGTERM', 25_000);
      removePidFile(f.pidFile);
    }),
  );
}

async function startDetachedCeod(info: StackInfo, state: HostsState): Promise<void> {
  const pending = CEOD_PROCS.map((p) => {
    const f = detachedFiles(info, p);
    const from = existsSync(f.logFile) ? readFileSync(f.logFile).length : 0;
    const pid = spawnHostsCeodDetached(info, state, p);
    return { p, f, from, pid };
  });
  const deadline = Date.now() + 60_000;
  for (const x of pending) {
    const ready = x.p.endsWith('/api') ? 'API listening' : 'worker ready';
    for (;;) {
      const text = existsSync(x.f.logFile) ? readFileSync(x.f.logFile, 'utf8').slice(x.from) : '';
      if (text.includes(ready)) break;
      if (!isOurProcess(x.pid, info.dir) || Date.now() > deadline) throw new DevstackError(`${x.p} did not start; see ${x.f.logFile}:\n${text.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    say(`  ceod ${x.p}: ready (pid ${x.pid}, log ${x.f.logFile})`);
  }
}

function summary(info: StackInfo, state: HostsState, withCeod: boolean): string {
  const t = topology(info.dir, state.basePort);
  const lines = [
    `multi-host stack: ${info.dir} (base port ${state.basePort}), namespaces ${state.prefix}-*, network ${state.subnet}`,
    ...HOST_NAMES.map((h) => `  ${h.padEnd(16)} ${state.addresses[h].padEnd(14)} ${fqdn(h)}  (ip netns exec ${t.netns(h)})`),
    `  Redis     ${info.redis.sentinel ? `behind Sentinel: ${info.redis.sentinel.sentinels.map((s) => `${s.host}:${s.port}`).join(', ')} (master ${info.redis.sentinel.masterName})` : info.redis.url}`,
    `  API       https://${fqdn('phosphoric-acid')}:${info.ports.ceodApi} and https://${fqdn('coffee')}:${info.ports.ceodApi}${withCeod ? '' : '  (not started: --with-ceod)'}`,
    `  relay     127.0.0.1:${state.relays[0]!.listen}-${state.relays[state.relays.length - 1]!.listen} → ${state.relays.map((r) => r.name).join(', ')} (krb5.conf for it: ${state.outsideKrb5Conf})`,
    '',
    'A shell on the client host, where the names resolve:',
    `  node dist-tools/hosts/cli.js shell --dir ${info.dir}`,
    '  echo "$CTDALEK_PASSWORD" | kinit ctdalek',
    '  curl --negotiate -u : --service-name ceod "$CEOD_URL/api/members/ctdalek"',
    `From here, through the relay: curl --cacert ${info.tls.caFile} https://127.0.0.1:${relayPort(state, 'api-phosphoric-acid')}/health`,
  ];
  return lines.join('\n');
}

async function up(values: Record<string, string | boolean | undefined>): Promise<number> {
  const dir = need(values.dir as string | undefined, '--dir is required');
  const basePort = Number(need(values['base-port'] as string | undefined, '--base-port N is required'));
  const redis = (values.redis as string | undefined) ?? 'sentinel';
  if (redis !== 'sentinel' && redis !== 'single') throw new DevstackError('--redis must be sentinel or single');
  const withCeod = values['with-ceod'] === true;
  const { info, state } = await upHostsStack({ dir, basePort, redis, log: (l) => say(`  ${l}`) });
  writeHostEnv(info);
  if (withCeod) await startDetachedCeod(info, state);
  say(summary(info, state, withCeod));
  if (values.detach) {
    say(`\nDetached. Stop with: node dist-tools/hosts/cli.js down --dir ${info.dir}`);
    return 0;
  }
  say('\nRunning in the foreground: Ctrl-C stops everything and removes the namespaces.');
  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (sig: string) => {
      if (stopping) return;
      stopping = true;
      say(`\n${sig}: stopping …`);
      stopDetachedCeod(info)
        .then(() => downHostsStack(info.dir, say))
        .then(() => say('stopped; namespaces removed.'))
        .catch((e: Error) => say(`stop failed: ${e.message}`))
        .finally(resolve);
    };
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
  });
  return 0;
}

async function insideUp(values: Record<string, string | boolean | undefined>): Promise<number> {
  const dir = need(values.dir as string | undefined, '--dir is required');
  const basePort = Number(need(values['base-port'] as string | undefined, '--base-port is required'));
  const t = topology(dir, basePort);
  const redis = values.redis === 'single' ? 'single' : 'sentinel';
  const result = await upStack({ dir, basePort, placement: placement(t), redis, apiHosts: API_HOSTS.map(fqdn), log: say });
  say(`servers placed on their hosts: ${result.started.length ? `started ${result.started.join(', ')}` : 'all were running'}`);
  return 0;
}

async function status(dir: string): Promise<number> {
  const info = readStackInfo(dir);
  const state = readHostsState(dir);
  if (!info || !state) {
    say(`no multi-host stack in ${dir}`);
    return 1;
  }
  const t = topology(info.dir, state.basePort);
  const net = networkExists(t);
  say(`multi-host stack ${info.dir}: namespaces ${net ? 'present' : 'MISSING'} (${state.prefix}-*)`);
  for (const h of HOST_NAMES) {
    const pids = net ? netnsPids(t.netns(h)) : [];
    say(`  ${h.padEnd(16)} ${state.addresses[h].padEnd(14)} link ${net ? (linkIsUp(t, h) ? 'up' : 'DOWN') : '-'}  ${pids.length} processes`);
  }
  for (const p of CEOD_PROCS) {
    const pid = readPid(detachedFiles(info, p).pidFile);
    if (isOurProcess(pid, info.dir)) say(`  ceod ${p} pid ${pid}`);
  }
  return net ? 0 : 3;
}

async function main(argv: string[]): Promise<number> {
  const dash = argv.indexOf('--');
  const own = dash < 0 ? argv : argv.slice(0, dash);
  const rest = dash < 0 ? [] : argv.slice(dash + 1);
  const { values, positionals } = parseArgs({
    args: own,
    allowPositionals: true,
    options: {
      dir: { type: 'string' },
      'base-port': { type: 'string' },
      redis: { type: 'string' },
      host: { type: 'string' },
      service: { type: 'string' },
      replicaof: { type: 'string' },
      'with-ceod': { type: 'boolean', default: false },
      detach: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const [command, arg] = positionals;
  if (values.help || !command) {
    say(USAGE);
    return values.help ? 0 : 2;
  }
  if (!values.dir) {
    process.stderr.write(`--dir is required\n${USAGE}\n`);
    return 2;
  }
  switch (command) {
    case 'up':
      return up(values);
    case 'inside-up':
      return insideUp(values);
    case 'down': {
      const info = readStackInfo(values.dir);
      if (info) await stopDetachedCeod(info);
      await downHostsStack(values.dir, (l) => say(`  ${l}`));
      say(`multi-host stack ${values.dir} stopped; namespaces removed`);
      return 0;
    }
    case 'status':
      return status(values.dir);
    case 'inside-service': {
      // One server started again, from the client host (its probe reaches it by name).
      const info = need(readStackInfo(values.dir), `no stack in ${values.dir}`);
      const name = values.service as ServiceName;
      if (!stackServices(info).includes(name)) throw new DevstackError(`--service must be one of ${stackServices(info).join(', ')}`);
      if (values.replicaof) {
        if (name !== 'redis' && name !== 'redis-replica') throw new DevstackError('--replicaof: only for redis and redis-replica');
        const file = name === 'redis' ? info.redis.configFile : info.redis.sentinel!.replica.configFile;
        const [host, port] = String(values.replicaof).split(':');
        // What Sentinel would have written had the server not died first.
        const text = readFileSync(file, 'utf8').replace(/^replicaof .*\n?/gm, '');
        writeFileSync(file, `${text.replace(/\n?$/, '\n')}replicaof ${host} ${port}\n`, { mode: 0o600 });
      }
      const t0 = Date.now();
      await startService(info, name);
      say(`${name}: answering after ${Date.now() - t0} ms`);
      return 0;
    }
    case 'shell':
    case 'exec': {
      const info = need(readStackInfo(values.dir), `no stack in ${values.dir}`);
      const state = need(readHostsState(values.dir), `no multi-host stack in ${values.dir}`);
      const host = hostArg(values.host, 'client');
      const envFile = writeHostEnv(info);
      const t = topology(info.dir, state.basePort);
      if (command === 'shell') return runInteractive(t, host, 'bash', ['--rcfile', envFile, '-i'], {});
      if (rest.length === 0) throw new DevstackError('exec: give the command after --');
      return runInteractive(t, host, 'bash', ['-c', `. ${envFile} >/dev/null; exec "$@"`, 'exec', ...rest], {});
    }
    case 'link': {
      const state = need(readHostsState(values.dir), `no multi-host stack in ${values.dir}`);
      if (arg !== 'up' && arg !== 'down') throw new DevstackError('link: say up or down');
      setLink(topology(state.dir, state.basePort), hostArg(values.host), arg);
      say(`${values.host}: link ${arg}`);
      return 0;
    }
    default:
      process.stderr.write(`unknown command ${command}\n${USAGE}\n`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: Error) => {
    process.stderr.write(`${e.name === 'DevstackError' || e.name === 'RangeError' ? '' : `${e.name}: `}${e.message}\n`);
    process.exit(1);
  },
);
