/**
 * The composition root: the one place that sees every layer. From a host's
 * config it builds the adapters (each given explicit options, never the whole
 * config), the Redis connections, the job store, queue and coordination, and
 * the API or the engine on top of them. `src/main.ts` (the `ceod` command)
 * calls it; tests and the benchmarks use it to build what they run.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import IORedis, { type Redis, type RedisOptions } from 'ioredis';
import type { FastifyInstance } from 'fastify';
import type { Config } from './config/schema';
import type { Logger } from './core/log';
import type { Role } from './core/model/roles';
import { AllowList } from './core/allow-list';
import type { Adapters, DatabaseKind, HomeDirs, Kadmin, Ldap, Mailer, Mailman, MemberDatabase } from './core/ports';
import { buildApp } from './api/app';
import { createHomeDirs } from './homedirs';
import { createKadmin, type KadminOptions } from './krb5/kadmin';
import { spnegoAuthenticator } from './krb5/spnego';
import { createLdap, type LdapOptions } from './ldap';
import { createMailer, type MailerOptions } from './mail';
import { createMailman, type MailmanOptions } from './mailman';
import { createPrometheusMetrics } from './metrics/prometheus';
import { type MetricsServer, startMetricsServer } from './metrics/server';
import { createMysql, type MysqlOptions } from './mysql';
import { createPostgresql, type PostgresqlOptions } from './postgresql';
import { guardConnection } from './store/connection-guard';
import { RedisCoordination } from './store/coordination';
import { EventHub } from './store/event-hub';
import { keys } from './store/keys';
import { RedisJobStore } from './store/job-store';
import { RedisSessions } from './store/sessions';
import { BullmqQueue } from './workers/bullmq-queue';
import { queueBoardPlugin } from './workers/queue-board';
import { Runner } from './workers/runner';

/** ceod's version (package.json, beside dist/ and src/), for the OpenAPI document. */
function version(): string {
  try {
    return (JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

// --- adapter options from a host's config

export function ldapOptions(config: Config): LdapOptions {
  return {
    url: config.ldap.url,
    bindDN: config.ldap.bind_dn,
    bindPassword: config.secrets.ldapBindPassword,
    usersBase: config.ldap.users_base,
    groupsBase: config.ldap.groups_base,
    sudoBase: config.ldap.sudo_base,
    timeoutMs: config.ldap.timeout_ms,
  };
}

export function kadminOptions(config: Config): KadminOptions {
  const k = config.kerberos;
  return {
    kadminPath: k.kadmin_path,
    principal: k.admin_principal,
    ...(k.admin_keytab ? { keytab: k.admin_keytab } : {}),
    realm: k.realm,
    ...(k.krb5_config ? { krb5Config: k.krb5_config } : {}),
    timeoutMs: k.timeout_ms,
    session: k.kadmin_session,
    sessionMaxAgeMs: k.kadmin_session_max_age_ms,
    sessionIdleMs: k.kadmin_session_idle_ms,
  };
}

export function mailmanOptions(config: Config): MailmanOptions {
  return {
    url: config.mailman.url,
    user: config.mailman.user,
    password: config.secrets.mailmanPassword,
    listDomain: config.mailman.list_domain,
    timeoutMs: config.mailman.timeout_ms,
  };
}

export function mailerOptions(config: Config): MailerOptions {
  const s = config.smtp;
  return { host: s.host, port: s.port, secure: s.secure, from: s.from, timeoutMs: s.timeout_ms, maxConnections: s.max_connections };
}

/** The MySQL adapter's options, from `[mysql]` (which the caller has checked is there). */
export function mysqlOptions(config: Config): MysqlOptions {
  const m = config.mysql!;
  return { host: m.host, port: m.port, user: m.admin_user, password: config.secrets.mysqlPassword ?? '', timeoutMs: m.timeout_ms, poolSize: m.pool_size };
}

/** The PostgreSQL adapter's options, from `[postgresql]`. */
export function postgresqlOptions(config: Config): PostgresqlOptions {
  const p = config.postgresql!;
  return { host: p.host, port: p.port, user: p.admin_user, password: config.secrets.postgresqlPassword ?? '', timeoutMs: p.timeout_ms, poolSize: p.pool_size };
}

const DATABASE_ADAPTERS: Record<DatabaseKind, (config: Config) => MemberDatabase> = {
  mysql: (config) => createMysql(mysqlOptions(config)),
  postgresql: (config) => createPostgresql(postgresqlOptions(config)),
};

// --- adapters

export interface BuiltAdapters extends Adapters {
  /** Home directories, if this host can see them (API hosts that mount /users). */
  readonly optionalHomeDirs?: HomeDirs;
  /**
   * Mailman for reads outside the mail role (the API checks a list exists
   * before it enqueues), with a short deadline: an unreachable Mailman must not
   * hold a request, and the mail step checks again anyway.
   */
  readonly optionalMailman?: Mailman;
  /**
   * Members' databases for reads outside the db role (the API checks whether
   * one exists before it enqueues), where this host's config has the server's
   * section; a short deadline (`[ceod] api_db_timeout_ms`) and one connection.
   */
  readonly optionalDatabases: Partial<Record<DatabaseKind, MemberDatabase>>;
  close(): Promise<void>;
}

/** Which role owns which adapter (docs/hosts-and-roles.md). The API process reads LDAP too. */
const OWNER = { ldap: 'admin', kadmin: 'admin', homeDirs: 'fs', mailman: 'mail', mailer: 'mail', mysql: 'db', postgresql: 'db' } as const;

/**
 * Builds the adapters a process needs. Each is made on first use, so an `fs`
 * worker never opens an LDAP connection; an adapter used by a step of a role
 * this host does not own is a bug, reported as such.
 */
export function buildAdapters(config: Config, roles: readonly Role[], log?: Logger): BuiltAdapters {
  const made: {
    ldap?: Ldap;
    kadmin?: Kadmin;
    homeDirs?: HomeDirs;
    mailman?: Mailman;
    mailer?: Mailer;
    readMailman?: Mailman;
    mysql?: MemberDatabase;
    postgresql?: MemberDatabase;
    readDatabases?: Partial<Record<DatabaseKind, MemberDatabase>>;
  } = {};
  const guard = (name: keyof typeof OWNER) => {
    // The API process (no roles) reads LDAP for authorization and reads.
    if (name === 'ldap' && roles.length === 0) return;
    if (!roles.includes(OWNER[name])) throw new Error(`adapter ${name} belongs to the ${OWNER[name]} role, which this host does not run`);
  };
  const homeDirs = () => (made.homeDirs ??= createHomeDirs({ timeoutMs: config.ceod.home_timeout_ms, log }));
  return {
    get ldap() {
      guard('ldap');
      return (made.ldap ??= createLdap(ldapOptions(config)));
    },
    get kadmin() {
      guard('kadmin');
      return (made.kadmin ??= createKadmin(kadminOptions(config)));
    },
    get homeDirs() {
      guard('homeDirs');
      return homeDirs();
    },
    get mailman() {
      guard('mailman');
      return (made.mailman ??= createMailman(mailmanOptions(config)));
    },
    get mailer() {
      guard('mailer');
      return (made.mailer ??= createMailer(mailerOptions(config)));
    },
    get mysql() {
      guard('mysql');
      return (made.mysql ??= DATABASE_ADAPTERS.mysql(config));
    },
    get postgresql() {
      guard('postgresql');
      return (made.postgresql ??= DATABASE_ADAPTERS.postgresql(config));
    },
    get optionalHomeDirs() {
      return existsSync(config.members.home_root) ? homeDirs() : undefined;
    },
    get optionalMailman() {
      return (made.readMailman ??= createMailman({ ...mailmanOptions(config), timeoutMs: Math.min(config.mailman.timeout_ms, config.ceod.api_mailman_timeout_ms) }));
    },
    get optionalDatabases() {
      if (made.readDatabases) return made.readDatabases;
      const read: Partial<Record<DatabaseKind, MemberDatabase>> = {};
      const timeoutMs = config.ceod.api_db_timeout_ms;
      if (config.mysql) read.mysql = createMysql({ ...mysqlOptions(config), timeoutMs: Math.min(config.mysql.timeout_ms, timeoutMs), poolSize: 1 });
      if (config.postgresql) read.postgresql = createPostgresql({ ...postgresqlOptions(config), timeoutMs: Math.min(config.postgresql.timeout_ms, timeoutMs), poolSize: 1 });
      return (made.readDatabases = read);
    },
    async close() {
      await Promise.allSettled([
        made.ldap?.close(),
        made.kadmin?.close(),
        made.mailer?.close(),
        made.mysql?.close(),
        made.postgresql?.close(),
        ...Object.values(made.readDatabases ?? {}).map((d) => d.close()),
      ]);
    },
  };
}

/** The servers a worker must reach before it takes steps, by a name that says where. */
export function serverChecks(config: Config, adapters: Adapters): Record<string, () => Promise<void>> {
  const roles = config.ceod.roles;
  const checks: Record<string, () => Promise<void>> = {};
  if (roles.includes('admin')) {
    checks[`LDAP at ${config.ldap.url}`] = () => adapters.ldap.ping();
    checks[`kadmind as ${config.kerberos.admin_principal}`] = () => adapters.kadmin.ping();
  }
  if (roles.includes('fs')) checks[`home directory root ${config.members.home_root}`] = () => adapters.homeDirs.ping(config.members.home_root);
  if (roles.includes('mail')) {
    checks[`Mailman REST at ${config.mailman.url}`] = () => adapters.mailman.ping();
    checks[`SMTP at ${config.smtp.host}:${config.smtp.port}`] = () => adapters.mailer.ping();
  }
  if (roles.includes('db')) {
    checks[`MySQL at ${config.mysql!.host}:${config.mysql!.port} as ${config.mysql!.admin_user}`] = () => adapters.mysql.ping();
    checks[`PostgreSQL at ${config.postgresql!.host}:${config.postgresql!.port} as ${config.postgresql!.admin_user}`] = () => adapters.postgresql.ping();
  }
  return checks;
}

// --- Redis

export type RedisPurpose = 'worker' | 'producer' | 'subscriber';

/**
 * Where Redis is, for logs and error messages: the URL, or the Sentinels and
 * the master's name. Never credentials.
 */
export function redisEndpoint(config: Config): string {
  const r = config.redis;
  if (r.sentinels) return `Sentinel ${r.sentinel_name} via ${r.sentinels.map((s) => `${s.host}:${s.port}`).join(',')}`;
  return redactUrl(r.url!);
}

function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.toString();
  } catch {
    return 'redis (unparseable url)';
  }
}

/** Server replies that mean "not the writable master right now": reconnect (to whatever Sentinel names) and send again. */
const NOT_MASTER_RE = /^(READONLY|UNBLOCKED|MASTERDOWN)\b/;

/**
 * A Redis connection (not yet connected: `lazyConnect`): to `[redis] url`, or
 * through the Sentinels to whichever server they name as master. Every
 * connection of the process is made here (the job store, BullMQ's queues and
 * workers, which duplicate it, the SSE subscriber), so each follows a failover:
 * a lost master closes the socket and ioredis reconnects through the
 * Sentinels; a master turned replica under a client (`READONLY`, or
 * `UNBLOCKED` for a blocked command) makes it reconnect and resend.
 */
export function redisConnection(config: Config, purpose: RedisPurpose): Redis {
  const r = config.redis;
  const common: RedisOptions = {
    ...(r.username ? { username: r.username } : {}),
    password: config.secrets.redisPassword,
    // Workers are patient (BullMQ requires null here); producers fail fast so the API can answer 503.
    maxRetriesPerRequest: purpose === 'producer' ? 2 : null,
    connectTimeout: 5000,
    lazyConnect: true,
    connectionName: `ceod-${purpose}`,
    // 2: reconnect, then send the failed command again (to the new master).
    reconnectOnError: (err) => (NOT_MASTER_RE.test(err.message) ? 2 : false),
  };
  if (!r.sentinels) return new IORedis(r.url!, common);
  return new IORedis({
    ...common,
    sentinels: r.sentinels.map((s) => ({ host: s.host, port: s.port })),
    name: r.sentinel_name,
    role: 'master',
    ...(r.sentinel_username ? { sentinelUsername: r.sentinel_username } : {}),
    ...(config.secrets.sentinelPassword ? { sentinelPassword: config.secrets.sentinelPassword } : {}),
    // Not ioredis's failoverDetector: on a +switch-master that lands while the
    // client is asking the Sentinels (it is, right after its master died), its
    // disconnect makes the connect fail and parks the client in `end` for good
    // (found by test/hosts/sentinel.test.ts: an API answering 503 for ever).
    // A dead master closes the sockets anyway, and Sentinel closes the clients
    // of a master it demotes.
    failoverDetector: false,
    // While no Sentinel answers: ask again every 0.1-1 s, forever (the process's
    // retryStrategy is what gives up, never this).
    sentinelRetryStrategy: (times) => Math.min(times * 100, 1000),
    sentinelCommandTimeout: 2000,
    // The Sentinels name the master by the address it announces; nothing to translate.
    updateSentinels: true,
  });
}

/** The job store, queue and coordination over one Redis connection. */
export function redisServices(config: Config, redis: Redis, log?: Logger) {
  const c = config.ceod;
  const retentionMs = c.job_retention_hours * 3600_000;
  const prefix = config.redis.prefix;
  return {
    store: new RedisJobStore(redis, { prefix, retentionMs, lockTtlMs: c.lock_ttl_hours * 3600_000, idempotencyTtlMs: c.idempotency_ttl_hours * 3600_000, waitReplicas: config.redis.wait_replicas, waitTimeoutMs: config.redis.wait_timeout_ms }),
    queue: new BullmqQueue(redis, { prefix, attempts: c.step_attempts, retentionMs }),
    coordination: new RedisCoordination(redis, { prefix, mutex: { ttlMs: c.mutex_ttl_ms, waitMs: c.mutex_wait_ms }, idFloorTtlMs: c.id_floor_ttl_ms, log }),
    sessions: new RedisSessions(redis, { prefix }),
  };
}

// --- processes

/** Reaches every server a process needs, naming the first one that does not answer within `waitMs`. */
export async function checkServers(checks: Record<string, () => Promise<void>>, log: Logger, waitMs: number): Promise<void> {
  const deadline = Date.now() + waitMs;
  for (const [name, check] of Object.entries(checks)) {
    for (;;) {
      try {
        await check();
        break;
      } catch (e) {
        if (Date.now() > deadline) throw new Error(`cannot reach ${name}: ${(e as Error).message}`);
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }
  log.info({ servers: Object.keys(checks) }, 'all servers reachable');
}

const redisCheck = (config: Config, redis: Redis) => ({
  [`Redis at ${redisEndpoint(config)}`]: async () => {
    if (redis.status === 'wait') await redis.connect();
    await redis.ping();
  },
});

export interface Service {
  /** Stops it in order; resolves when everything is let go. */
  stop(): Promise<void>;
}

/** The API process: Fastify app on top of the job store, queue, event hub and LDAP. */
export async function composeApi(config: Config, log: Logger, opts: { waitMs: number; now?: () => Date }): Promise<Service & { app: FastifyInstance }> {
  const producer = redisConnection(config, 'producer');
  const subscriber = redisConnection(config, 'subscriber');
  const guards = [guardConnection(producer, log, 'producer'), guardConnection(subscriber, log, 'subscriber')];
  const adapters = buildAdapters(config, [], log);
  const ldap = adapters.ldap;
  await checkServers({ ...redisCheck(config, producer), [`LDAP at ${config.ldap.url}`]: () => ldap.ping() }, log, opts.waitMs);
  await subscriber.connect();
  const { store, queue, sessions } = redisServices(config, producer, log);
  const events = new EventHub(subscriber, keys(config.redis.prefix).channel());
  await events.start();
  const metrics = createPrometheusMetrics({ log });
  metrics.watchQueues(() => queue.sample());
  const app = await buildApp({
    config,
    store,
    queue,
    events,
    ldap,
    sessions,
    homeDirs: adapters.optionalHomeDirs,
    mailman: adapters.optionalMailman,
    databases: adapters.optionalDatabases,
    log,
    authenticate: spnegoAuthenticator(config.kerberos.service_principal),
    metrics,
    queueBoard: (basePath) => queueBoardPlugin(queue, basePath),
    version: version(),
    ...(opts.now ? { now: opts.now } : {}),
    ...(config.secrets.tls ? { https: config.secrets.tls } : {}),
  });
  return {
    app,
    async stop() {
      // Stop accepting, end event streams, drain requests in flight, then let go of Redis.
      for (const g of guards) g.stop();
      const closing = app.close();
      await events.stop();
      await closing;
      await queue.close();
      await adapters.close();
      producer.disconnect();
      subscriber.disconnect();
    },
  };
}

/**
 * A worker process: the engine over the queues of the host's roles, and its
 * metrics on `[ceod] metrics_listen` (when set; a port that cannot be had
 * stops the start, naming the key).
 */
export async function composeWorker(config: Config, log: Logger, opts: { waitMs: number }): Promise<Service & { runner: Runner; metricsServer?: MetricsServer }> {
  const connection = redisConnection(config, 'worker');
  const guard = guardConnection(connection, log, 'worker');
  const adapters = buildAdapters(config, config.ceod.roles, log);
  await checkServers({ ...redisCheck(config, connection), ...serverChecks(config, adapters) }, log, opts.waitMs);
  const { store, queue, coordination, sessions } = redisServices(config, connection, log);
  const metrics = createPrometheusMetrics({ log });
  // Every process reports every role queue: a queue whose workers are all down is still seen.
  metrics.watchQueues(() => queue.sample());
  const listen = config.ceod.metrics_listen;
  let metricsServer: MetricsServer | undefined;
  try {
    if (listen) metricsServer = await startMetricsServer({ ...listen, metrics, allow: new AllowList(config.ceod.metrics_allow), log });
  } catch (e) {
    guard.stop();
    await queue.close();
    await adapters.close();
    connection.disconnect();
    throw e;
  }
  const runner = new Runner({ config, store, queue, coordination, sessions, connection, adapters, log, metrics });
  await runner.start();
  return {
    runner,
    metricsServer,
    async stop() {
      guard.stop();
      await runner.stop(config.ceod.shutdown_grace_ms);
      await metricsServer?.close();
      await queue.close();
      await adapters.close();
      connection.disconnect();
    },
  };
}

/**
 * Tries every check at once, each again every 500 ms until `waitMs` has
 * passed; resolves with the name and error of each that never answered (an
 * attempt still pending at the deadline counts as no answer).
 */
export async function unreachable(checks: Record<string, () => Promise<void>>, waitMs: number): Promise<{ name: string; message: string }[]> {
  const deadline = Date.now() + waitMs;
  const attempt = async (check: () => Promise<void>): Promise<void> => {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('no answer')), Math.max(1000, deadline - Date.now()));
    });
    try {
      await Promise.race([check(), late]);
    } finally {
      clearTimeout(timer);
    }
  };
  const results = await Promise.all(
    Object.entries(checks).map(async ([name, check]) => {
      for (;;) {
        try {
          await attempt(check);
          return null;
        } catch (e) {
          if (Date.now() >= deadline) return { name, message: (e as Error).message };
          await new Promise((r) => setTimeout(r, 500));
        }
      }
    }),
  );
  return results.filter((r): r is { name: string; message: string } => r !== null);
}

/**
 * `ceod check`: reaches Redis and every server of the host's roles (LDAP and
 * kadmind for admin, the home root for fs, Mailman and SMTP for mail, MySQL
 * and PostgreSQL for db), and LDAP when the host serves the API. Every one is
 * tried; throws naming each that does not answer within `waitMs`.
 */
export async function checkHost(config: Config, log: Logger, opts: { waitMs: number }): Promise<void> {
  const redis = redisConnection(config, 'producer');
  const adapters = buildAdapters(config, config.ceod.roles);
  const apiAdapters = buildAdapters(config, []);
  const checks = { ...redisCheck(config, redis), ...serverChecks(config, adapters) };
  if (config.ceod.api_listen && !config.ceod.roles.includes('admin')) checks[`LDAP at ${config.ldap.url}`] = () => apiAdapters.ldap.ping();
  try {
    const failed = await unreachable(checks, opts.waitMs);
    if (failed.length > 0) throw new Error(failed.map((f) => `cannot reach ${f.name}: ${f.message}`).join('; '));
    log.info({ servers: Object.keys(checks) }, 'all servers reachable');
  } finally {
    await Promise.all([adapters.close(), apiAdapters.close()]);
    redis.disconnect();
  }
}
