/**
 * The dev stack from the command line:
 *
 *   node dist-tools/devstack/cli.js up     --dir D --base-port N [--redis single|sentinel] [--with-ceod] [--detach]
 *   node dist-tools/devstack/cli.js down   --dir D
 *   node dist-tools/devstack/cli.js status --dir D [--json]
 *
 * `up` in the foreground prints where everything is and stays until Ctrl-C or
 * SIGTERM, then stops what it started (ceod processes first, then servers).
 * `up --detach` returns once everything answers and leaves it running; `down`
 * stops everything, ceod processes included.
 */
import { parseArgs } from 'node:util';
import { readStackInfo } from './stack-info';
import { stackStatus, stopProcesses, stopStack, upStack, type UpResult } from './stack';
import { isOurProcess, readPid, DevstackError } from './processes';
import { logFile, pidFile, stackLayout } from './layout';
import { CEOD_NAMES, type StackInfo } from './types';

const USAGE = `usage:
  cli.js up     --dir DIR --base-port N [--redis single|sentinel] [--with-ceod] [--detach]
  cli.js down   --dir DIR
  cli.js status --dir DIR [--json]

Base ports by convention: dev 17000, tests 27000, bench 30000 (see tools/devstack/ports.ts).
--redis sentinel: Redis as a master, a replica and three Sentinels (base port +379, +380, +381-383);
the generated ceod configs then name the Sentinels and wait for the replica.`;

const say = (line: string) => process.stdout.write(`${line}\n`);

function summary(info: StackInfo, withCeod: boolean, elapsedMs: number): string {
  const u = info.users;
  const lines = [
    `ceod dev stack up in ${(elapsedMs / 1000).toFixed(1)} s: ${info.dir} (base port ${info.basePort})`,
    `  LDAP      ${info.ldap.url}  base ${info.ldap.baseDn}  admin ${info.ldap.adminDn}`,
    `  Kerberos  realm ${info.realm}  kdc ${info.krb5.kdcAddress}  kadmind ${info.krb5.kadmindAddress}  kpasswd ${info.krb5.kpasswdAddress}`,
    `            keytabs ${info.krb5.serviceKeytab} (${info.krb5.servicePrincipal}), ${info.krb5.adminKeytab} (${info.krb5.adminPrincipal})`,
    `  Redis     ${info.redis.url}  user ${info.redis.user} (the default user is off; REDIS_URL in env.sh has the password)`,
    ...(info.redis.sentinel ? [`            behind Sentinel: replica ${info.redis.sentinel.replica.host}:${info.redis.sentinel.replica.port}, Sentinels ${info.redis.sentinel.sentinels.map((x) => `${x.host}:${x.port}`).join(', ')} (user ${info.redis.sentinel.user})`] : []),
    `  Mailman   ${info.mailman.url}  user ${info.mailman.user}  lists ${info.mailman.lists.join(', ')}`,
    `  SMTP      smtp://${info.smtp.host}:${info.smtp.port}  catches into ${info.smtp.mailDir}`,
    `  MariaDB   ${info.mysql.host}:${info.mysql.port}  socket ${info.mysql.socket}  admin ${info.mysql.adminUser}`,
    `  Postgres  ${info.postgres.host}:${info.postgres.port}  admin ${info.postgres.adminUser}`,
    `  TLS       CA ${info.tls.caFile}  cert for localhost ${info.tls.certFile}`,
    `  ceod API  ${info.ceod.url}${withCeod ? '  (api + workers admin, fs, mail, db)' : '  (not started: --with-ceod)'}`,
    `  Users     ${Object.values(u).map((x) => `${x.uid}${x.groups.length ? ` (${x.groups.join(', ')})` : ''}`).join(', ')}; passwords in env.sh`,
    `  Homes     ${info.homeRoot}   skel ${info.skelDir}`,
    `  Configs   ${info.configs.api.replace(/api\.ini$/, '{api,admin,fs,mail,db}.ini')}`,
    `  Logs      ${info.logsDir}`,
    '',
    'Try:',
    `  source ${info.envFile}`,
    '  echo "$CTDALEK_PASSWORD" | kinit ctdalek',
    '  curl --negotiate -u : --service-name ceod "$CEOD_URL/api/members/ctdalek"',
    '  ldapsearch -x -H "$LDAPURI" -b "$LDAP_BASE" uid=ctdalek',
    `  mysql -h "$MYSQL_HOST" -P "$MYSQL_PORT" -u "$MYSQL_ADMIN_USER" -p"$MYSQL_ADMIN_PASSWORD"; psql`,
    `  kadmin -k -t "$KADMIN_KEYTAB" -p "$KADMIN_PRINCIPAL" -q 'getprinc ctdalek'`,
  ];
  return lines.join('\n');
}

/** Foreground: report ceod processes that die, stop what we started on SIGINT/SIGTERM. */
function stayInForeground(up: UpResult): Promise<void> {
  const { info, started } = up;
  const layout = stackLayout(info.dir);
  const watched = CEOD_NAMES.map((n) => `ceod-${n}`).filter((n) => started.includes(n as never));
  const reported = new Set<string>();
  const watch = setInterval(() => {
    for (const n of watched) {
      if (!reported.has(n) && !isOurProcess(readPid(pidFile(layout, n)), info.dir)) {
        reported.add(n);
        say(`!! ${n} exited; see ${logFile(layout, n)}`);
      }
    }
  }, 2000);
  return new Promise((resolve) => {
    let stopping = false;
    const stop = (sig: NodeJS.Signals) => {
      if (stopping) {
        say(`${sig} again: leaving now; what still runs can be stopped with: down --dir ${info.dir}`);
        process.exit(130);
      }
      stopping = true;
      clearInterval(watch);
      say(`\n${sig}: stopping ${started.length ? started.join(', ') : 'nothing (everything was already running)'} …`);
      stopProcesses(info, started, say)
        .then(() => say('stopped.'))
        .catch((e: Error) => say(`stop failed: ${e.message}`))
        .finally(resolve);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

async function up(values: Record<string, string | boolean | undefined>): Promise<number> {
  const dir = values.dir as string;
  let basePort = values['base-port'] !== undefined ? Number(values['base-port']) : undefined;
  if (basePort === undefined) basePort = readStackInfo(dir)?.basePort;
  if (basePort === undefined || !Number.isInteger(basePort)) {
    throw new DevstackError('up: --base-port N is required for a new stack (dev 17000, tests 27000, bench 30000)');
  }
  const withCeod = values['with-ceod'] === true;
  const redis = (values.redis as string | undefined) ?? (readStackInfo(dir)?.redis.sentinel ? 'sentinel' : 'single');
  if (redis !== 'single' && redis !== 'sentinel') throw new DevstackError('--redis must be single or sentinel');
  const t0 = Date.now();
  const result = await upStack({ dir, basePort, withCeod, redis, log: (l) => say(`  ${l}`) });
  say(summary(result.info, withCeod, Date.now() - t0));
  if (values.detach) {
    say(`\nDetached. Stop with: node dist-tools/devstack/cli.js down --dir ${result.info.dir}`);
    return 0;
  }
  say('\nRunning in the foreground: Ctrl-C stops what this command started.');
  await stayInForeground(result);
  return 0;
}

async function status(dir: string, json: boolean): Promise<number> {
  const st = await stackStatus(dir);
  if (!st) {
    if (json) say(JSON.stringify({ dir, stack: null }));
    else say(`no stack in ${dir}`);
    return 1;
  }
  const servers = st.processes.filter((p) => !p.name.startsWith('ceod-'));
  const healthy = servers.every((p) => p.running && p.answering !== false);
  if (json) {
    say(JSON.stringify({ dir: st.info.dir, basePort: st.info.basePort, healthy, processes: st.processes }, null, 2));
  } else {
    say(`stack ${st.info.dir} (base port ${st.info.basePort}): ${healthy ? 'up' : servers.some((p) => p.running) ? 'partly up' : 'down'}`);
    for (const p of st.processes) {
      const state = !p.running ? 'stopped' : p.answering === false ? 'NOT ANSWERING' : 'running';
      say(`  ${p.name.padEnd(12)} ${state.padEnd(14)} ${String(p.pid ?? '-').padEnd(8)} ${p.endpoint}`);
    }
  }
  return healthy ? 0 : 3;
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      dir: { type: 'string' },
      'base-port': { type: 'string' },
      redis: { type: 'string' },
      'with-ceod': { type: 'boolean', default: false },
      detach: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const [command] = positionals;
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
    case 'down':
      await stopStack(values.dir, (l) => say(`  ${l}`));
      say(`stack ${values.dir} stopped`);
      return 0;
    case 'status':
      return status(values.dir, values.json === true);
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
