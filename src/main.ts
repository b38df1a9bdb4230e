/**
 * `ceod api --config FILE` and `ceod worker --config FILE`: the two processes
 * of a host. The config path may also come from CEOD_CONFIG.
 */
import { parseArgs } from 'node:util';
import IORedis, { type Redis } from 'ioredis';
import { ConfigError, loadConfig } from './config/load';
import type { Config } from './config/schema';
import { createLogger, type Logger } from './log';
import { EventHub } from './api/event-hub';
import { buildApp } from './api/app';
import { spnegoAuthenticator } from './api/auth';
import { gssServiceName } from './krb5/spnego';
import { JobStore } from './jobs/store';
import { Dispatcher } from './workers/dispatcher';
import { Runner } from './workers/runner';
import { buildAdapters, serverChecks } from './workers/build-adapters';

const USAGE = `usage: ceod <api|worker|check> [--config FILE]

  api      serve the HTTP API (needs [ceod] api_listen)
  worker   run the steps of this host's roles ([ceod] roles)
  check    validate the config and reach every server this host needs, then exit

The config file defaults to $CEOD_CONFIG, then /etc/csc/ceod.ini.`;

function redisConnection(config: Config, purpose: 'worker' | 'producer' | 'subscriber'): Redis {
  return new IORedis(config.redis.url, {
    ...(config.redis.username ? { username: config.redis.username } : {}),
    password: config.secrets.redisPassword,
    // Workers are patient (BullMQ requires null here); producers fail fast so the API can answer 503.
    maxRetriesPerRequest: purpose === 'producer' ? 2 : null,
    connectTimeout: 5000,
    lazyConnect: true,
    connectionName: `ceod-${purpose}`,
  });
}

/** Reaches every server a process needs, naming the first one that does not answer. */
async function checkServers(checks: Record<string, () => Promise<void>>, log: Logger, waitMs: number): Promise<void> {
  const deadline = Date.now() + waitMs;
  for (const [name, check] of Object.entries(checks)) {
    for (;;) {
      try {
        await check();
        break;
      } catch (e) {
        if (Date.now() > deadline) {
          throw new Error(`cannot reach ${name}: ${(e as Error).message}`);
        }
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }
  log.info({ servers: Object.keys(checks) }, 'all servers reachable');
}

function setKerberosEnv(config: Config): void {
  if (config.kerberos.krb5_config) process.env.KRB5_CONFIG = config.kerberos.krb5_config;
  if (config.kerberos.service_keytab) process.env.KRB5_KTNAME = `FILE:${config.kerberos.service_keytab}`;
  // Never let a client identity be picked up from a keytab by accident.
  delete process.env.KRB5_CLIENT_KTNAME;
}

function onSignals(log: Logger, stop: () => Promise<void>): void {
  let stopping = false;
  const handler = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    stop()
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

async function runApi(config: Config, log: Logger, waitMs: number): Promise<void> {
  if (!config.ceod.api_listen) throw new ConfigError('ceod.api_listen: required to serve the API');
  setKerberosEnv(config);
  const producer = redisConnection(config, 'producer');
  const subscriber = redisConnection(config, 'subscriber');
  const adapters = buildAdapters(config, [], log);
  const ldap = adapters.ldap;
  await checkServers({ [`Redis at ${config.redis.url}`]: () => producer.connect().then(() => producer.ping()).then(() => undefined), [`LDAP at ${config.ldap.url}`]: () => ldap.ping() }, log, waitMs);
  await subscriber.connect();
  const retentionMs = config.ceod.job_retention_hours * 3600_000;
  const store = new JobStore(producer, { prefix: config.redis.prefix, retentionMs });
  const dispatcher = new Dispatcher(producer, { prefix: config.redis.prefix, attempts: config.ceod.step_attempts, retentionMs });
  const hub = new EventHub(subscriber, store.key.channel());
  await hub.start();
  const app = await buildApp({
    ...clockOverride(process.env, log),
    config,
    store,
    dispatcher,
    ldap,
    homeDirs: adapters.optionalHomeDirs,
    mailman: adapters.optionalMailman,
    hub,
    log,
    authenticate: spnegoAuthenticator(gssServiceName(config.kerberos.service_principal)),
  });
  const { host, port } = config.ceod.api_listen;
  await app.listen({ host, port });
  log.info({ url: `http://${host}:${port}` }, 'API listening');
  onSignals(log, async () => {
    // Stop accepting, end event streams, drain requests in flight, then let go of Redis.
    const closing = app.close();
    await hub.stop();
    await closing;
    await dispatcher.close();
    await ldap.close();
    producer.disconnect();
    subscriber.disconnect();
  });
}

async function runWorker(config: Config, log: Logger, waitMs: number): Promise<void> {
  if (config.ceod.roles.length === 0) throw new ConfigError('ceod.roles: a worker needs at least one role');
  setKerberosEnv(config);
  const connection = redisConnection(config, 'worker');
  const adapters = buildAdapters(config, config.ceod.roles, log);
  await checkServers(
    { [`Redis at ${config.redis.url}`]: () => connection.connect().then(() => connection.ping()).then(() => undefined), ...serverChecks(config, adapters) },
    log,
    waitMs,
  );
  const retentionMs = config.ceod.job_retention_hours * 3600_000;
  const store = new JobStore(connection, { prefix: config.redis.prefix, retentionMs });
  const dispatcher = new Dispatcher(connection, { prefix: config.redis.prefix, attempts: config.ceod.step_attempts, retentionMs });
  const runner = new Runner({ config, store, dispatcher, connection, adapters, log });
  await runner.start();
  log.info({ roles: config.ceod.roles }, 'worker ready');
  onSignals(log, async () => {
    await runner.stop(config.ceod.shutdown_grace_ms);
    await dispatcher.close();
    await adapters.close();
    connection.disconnect();
  });
}

export async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { config: { type: 'string', short: 'c' }, 'wait-ms': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
  });
  const command = positionals[0];
  if (values.help || !command || !['api', 'worker', 'check'].includes(command)) {
    process.stderr.write(`${USAGE}\n`);
    process.exit(values.help ? 0 : 2);
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
    if (command === 'api') await runApi(config, log, waitMs);
    else if (command === 'worker') await runWorker(config, log, waitMs);
    else {
      setKerberosEnv(config);
      const adapters = buildAdapters(config, config.ceod.roles, log);
      await checkServers(serverChecks(config, adapters), log, waitMs);
      await adapters.close();
      process.exit(0);
    }
  } catch (e) {
    const message = e instanceof ConfigError ? `bad config: ${e.message}` : (e as Error).message;
    log.fatal({ error: message }, 'cannot start');
    process.stderr.write(`ceod ${command}: ${message}\n`);
    process.exit(1);
  }
}

if (require.main === module) void main(process.argv.slice(2));
