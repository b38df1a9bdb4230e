/**
 * The `ceod` command: `ceod api|worker|check --config FILE`, the processes of
 * a host (docs/hosts-and-roles.md). It loads and checks the config, sets the
 * Kerberos environment, and hands over to the composition root
 * (`./compose.ts`). The config path may also come from CEOD_CONFIG.
 */
import { parseArgs } from 'node:util';
import { checkHost, composeApi, composeWorker, type Service } from './compose';
import { ConfigError, loadConfig } from './config/load';
import type { Config } from './config/schema';
import { createLogger, type Logger } from './core/log';

const USAGE = `usage: ceod <api|worker|check> [--config FILE] [--wait-ms N]

  api      serve the HTTP API (needs [ceod] api_listen)
  worker   run the steps of this host's roles ([ceod] roles)
  check    validate the config and reach Redis and every server this host needs, then exit

The config file defaults to $CEOD_CONFIG, then /etc/csc/ceod.ini.
--wait-ms: how long to wait for the servers at start (default 15000).`;

/**
 * The Kerberos library reads its configuration and the service keytab from
 * the environment (KRB5_CONFIG, KRB5_KTNAME), and nothing else in ceod may
 * write process.env: this is the one place, once, at start.
 * KRB5_CLIENT_KTNAME is removed so that no client identity is ever picked up
 * from a keytab by accident (it silently logs clients in).
 */
function setKerberosEnv(config: Config): void {
  if (config.kerberos.krb5_config) process.env.KRB5_CONFIG = config.kerberos.krb5_config;
  if (config.kerberos.service_keytab) process.env.KRB5_KTNAME = `FILE:${config.kerberos.service_keytab}`;
  delete process.env.KRB5_CLIENT_KTNAME;
}

function onSignals(log: Logger, service: Service): void {
  let stopping = false;
  const handler = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    service
      .stop()
      .then(() => process.exit(0))
      .catch((e) => {
        log.error({ err: e }, 'unclean stop');
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => handler('SIGTERM'));
  process.on('SIGINT', () => handler('SIGINT'));
}

/**
 * `CEOD_TEST_NOW` (an ISO date) fixes the API's idea of today, for tests that
 * spawn ceod as processes (term checks, expiry). Never set it in production:
 * it is logged as a warning at start so it cannot go unnoticed.
 */
function clockOverride(env: NodeJS.ProcessEnv, log: Logger): { now?: () => Date } {
  const v = env.CEOD_TEST_NOW;
  if (!v) return {};
  const at = new Date(v);
  if (!/^\d{4}-\d\d-\d\d/.test(v) || Number.isNaN(at.getTime())) throw new ConfigError(`CEOD_TEST_NOW: not an ISO date: ${v}`);
  log.warn({ now: at.toISOString() }, 'CEOD_TEST_NOW is set: the API clock is fixed (tests only)');
  return { now: () => new Date(at) };
}

async function run(command: string, config: Config, log: Logger, waitMs: number): Promise<void> {
  setKerberosEnv(config);
  if (command === 'check') {
    await checkHost(config, log, { waitMs });
    process.exit(0);
  }
  if (command === 'api') {
    if (!config.ceod.api_listen) throw new ConfigError('ceod.api_listen: required to serve the API');
    if (config.ceod.tls === 'off') {
      log.warn('[ceod] tls = off: the API serves plain HTTP; passwords in job results and SPNEGO-authenticated bodies cross the network in clear (development only)');
    }
    const api = await composeApi(config, log, { waitMs, ...clockOverride(process.env, log) });
    const { host, port } = config.ceod.api_listen;
    await api.app.listen({ host, port });
    log.info({ url: `${config.secrets.tls ? 'https' : 'http'}://${host}:${port}` }, 'API listening');
    onSignals(log, api);
    return;
  }
  if (config.ceod.roles.length === 0) throw new ConfigError('ceod.roles: a worker needs at least one role');
  const worker = await composeWorker(config, log, { waitMs });
  log.info({ roles: config.ceod.roles }, 'worker ready');
  onSignals(log, worker);
}

export async function main(argv: string[]): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: { config: { type: 'string', short: 'c' }, 'wait-ms': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
    });
  } catch (e) {
    process.stderr.write(`ceod: ${(e as Error).message}\n${USAGE}\n`);
    process.exit(2);
  }
  const { values, positionals } = parsed;
  const command = positionals[0];
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  if (!command || !['api', 'worker', 'check'].includes(command)) {
    process.stderr.write(`${USAGE}\n`);
    process.exit(2);
  }
  const path = values.config ?? process.env.CEOD_CONFIG ?? '/etc/csc/ceod.ini';
  let config: Config;
  try {
    config = loadConfig(path);
  } catch (e) {
    process.stderr.write(`ceod: bad config: ${(e as Error).message}\n`);
    process.exit(2);
  }
  const log = createLogger({ level: config.ceod.log_level, host: config.ceod.host, process: command === 'api' ? 'api' : `worker:${config.ceod.roles.join(',')}` });
  const waitMs = Number(values['wait-ms'] ?? 15000);
  try {
    await run(command, config, log, waitMs);
  } catch (e) {
    const message = e instanceof ConfigError ? `bad config: ${e.message}` : (e as Error).message;
    log.fatal({ error: message }, 'cannot start');
    process.stderr.write(`ceod ${command}: ${message}\n`);
    process.exit(1);
  }
}

if (require.main === module) void main(process.argv.slice(2));
