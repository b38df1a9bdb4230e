/**
 * The per-host configuration (docs/config.md): one INI file per host, validated with
 * zod at start and frozen. Secrets are never written in the file itself: keys
 * ending in `_file` name a file to read, or the matching environment variable
 * (listed in `SECRET_ENV`) supplies the value.
 */
import { z } from 'zod';
import { parseAllowEntry } from '../core/allow-list';
import { NAME_RE } from '../core/model/names';
import { ROLES } from '../core/model/roles';

export { ROLES, type Role } from '../core/model/roles';

const csv = z
  .string()
  .transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean));
const int = z.coerce.number().int();
const port = z.coerce.number().int().min(1).max(65535);
const bool = z
  .union([z.boolean(), z.enum(['true', 'false', 'yes', 'no', '1', '0'])])
  .transform((v) => v === true || v === 'true' || v === 'yes' || v === '1');
const absPath = z.string().startsWith('/', 'must be an absolute path');
const absPathOrAll = z.string().regex(/^(ALL|\/\S*)$/, 'must be ALL or an absolute path');
const dn = z.string().regex(/^[a-zA-Z]+=[^,]+(,[a-zA-Z]+=[^,]+)*$/, 'must be a DN like dc=example,dc=org');
const listen = z
  .string()
  .regex(/^[^:]+:\d+$/, 'must be host:port')
  .transform((s) => {
    const i = s.lastIndexOf(':');
    return { host: s.slice(0, i), port: Number(s.slice(i + 1)) };
  });

/** `host:port` (a name, an IPv4 address or a bracketed IPv6 one). */
const hostPort = z
  .string()
  .regex(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'must be host:port')
  .transform((s) => {
    const i = s.lastIndexOf(':');
    return { host: s.slice(0, i).replace(/^\[(.*)\]$/, '$1'), port: Number(s.slice(i + 1)) };
  })
  .refine((a) => a.port >= 1 && a.port <= 65535, 'port must be 1-65535');

/** A host name or address members connect to: it is written into their info files, one line each. */
const hostName = z.string().regex(/^[A-Za-z0-9](?:[A-Za-z0-9.:-]*[A-Za-z0-9])?$/, 'must be a host name or address');

/** A member-database server ([mysql], [postgresql]): how ceod reaches it, and what members are told. */
const databaseServer = (defaultPort: number) =>
  z
    .object({
      /** Where ceod reaches the server (often localhost on the db host). */
      host: hostName,
      port: port.default(defaultPort),
      /** The admin account ceod logs in as: it creates and drops members' databases and users. */
      admin_user: z.string().regex(/^[A-Za-z0-9_.-]{1,63}$/, 'letters, digits, ., - and _ only'),
      password_file: absPath.optional(),
      /** The host name members connect to, written in their info file. */
      hostname: hostName,
      /** Deadline of one operation (connecting included). */
      timeout_ms: int.positive().default(10_000),
      /** Connections ceod keeps open to the server at most. */
      pool_size: int.positive().max(64).default(4),
    })
    .strict();

const idRange = z
  .object({ min_id: int.positive(), max_id: int.positive() })
  .refine((r) => r.min_id <= r.max_id, { message: 'min_id must not exceed max_id', path: ['max_id'] });

/** Config as written in the INI file (strings), before secrets are resolved. */
export const configSchema = z
  .object({
    ceod: z
      .object({
        host: z.string().min(1),
        roles: csv.pipe(z.array(z.enum(ROLES))),
        api_listen: listen.optional(),
        /** Serve the API over HTTPS (`on`, the default: tls_cert_file and tls_key_file are then required) or plain HTTP (`off`: development only, logged as a warning). */
        tls: z.enum(['on', 'off']).default('on'),
        /** The API's certificate chain (PEM). */
        tls_cert_file: absPath.optional(),
        /** The API's private key (PEM), a secret: mode 0600, readable by ceod only. */
        tls_key_file: absPath.optional(),
        base_domain: z.string().min(1),
        secrets_key_file: absPath,
        log_level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
        job_retention_hours: int.positive().default(168),
        shutdown_grace_ms: int.positive().default(20000),
        step_attempts: int.min(1).default(10),
        step_backoff_ms: int.positive().default(500),
        step_backoff_max_ms: int.positive().default(8000),
        lock_duration_ms: int.positive().default(10000),
        stalled_interval_ms: int.positive().default(5000),
        worker_concurrency: int.positive().default(16),
        /** BullMQ gives a step job up after it stalled this often; the reconciler then fails the step (it may be half-done: its undo runs). */
        max_stalled_count: int.positive().default(5),
        /** Deadline of one step's run or undo; past it the step fails with a transient TIMEOUT. */
        step_timeout_ms: int.positive().default(120_000),
        /** The reconciler looks at unfinished jobs whose record has not changed for this long. */
        reconcile_idle_ms: int.positive().default(60_000),
        /** How often each worker process checks its queue workers (watchdog: docs/ARCHITECTURE.md#the-worker-watchdog); 0 turns it off. */
        watchdog_interval_ms: int.min(0).default(5000),
        /** A queue worker whose connection ended, or that took no job for this long while jobs waited and it had a free slot, is recreated. */
        watchdog_stuck_ms: int.positive().default(30_000),
        /** Members a bulk step (expire) works on at once. */
        bulk_concurrency: int.positive().max(256).default(8),
        /** The cross-host mutex (uid numbers) expires this long after its holder stops renewing it. */
        mutex_ttl_ms: int.positive().default(3000),
        /** A step waits this long for a busy mutex before it is retried (transient LOCK_BUSY). */
        mutex_wait_ms: int.positive().default(20_000),
        /** An id-allocation floor expires this long after it was set, so numbers freed by hand are found again. */
        id_floor_ttl_ms: int.positive().default(300_000),
        /** A resource lock (one job per uid or group) outlives a job that was lost by at most this long. */
        lock_ttl_hours: int.positive().default(168),
        /** How long an Idempotency-Key maps to its job. */
        idempotency_ttl_hours: int.positive().default(24),
        /** A caller's groups (their roles) are looked up in LDAP at most this often. */
        role_cache_ttl_ms: int.min(0).default(30_000),
        /** Largest request body the API accepts. */
        body_limit_bytes: int.positive().default(64 * 1024),
        /** An event stream re-reads its job's events at least this often, whatever the wake-ups. */
        sse_poll_ms: int.positive().default(2000),
        /** An idle event stream sends a comment this often, so proxies keep it open. */
        sse_heartbeat_ms: int.positive().default(15_000),
        /** Event streams one caller may hold open at once on one API host (429 beyond). */
        sse_max_per_principal: int.positive().default(20),
        /** Event streams one API host holds open at once (503 beyond). */
        sse_max_streams: int.positive().default(5000),
        /** A stream with no new event for this long is ended; the client reconnects with Last-Event-ID. */
        sse_idle_timeout_ms: int.positive().default(600_000),
        /** Staff groups: only syscom may reset the password of, modify, renew or delete an account in one of them. */
        protected_groups: csv.pipe(z.array(z.string().regex(NAME_RE, 'must be group names'))).default(['syscom', 'office']),
        /** Origins (`https://host[:port]`) whose pages may call the API from a browser, besides the API's own; any other `Origin` is refused (403). */
        allowed_origins: csv.pipe(z.array(z.string().regex(/^https?:\/\/[^/\s]+$/, 'must be an origin like https://ceo.example.org'))).default([]),
        /** The whole request (headers and body) must arrive within this; else the connection is closed (408). */
        request_timeout_ms: int.positive().default(30_000),
        /** The request headers must arrive within this. */
        headers_timeout_ms: int.positive().default(10_000),
        /** An idle keep-alive connection is closed after this. */
        keep_alive_timeout_ms: int.positive().default(5000),
        /** A connection with no traffic at all for this long is closed (event streams send a heartbeat well within it). */
        connection_timeout_ms: int.positive().default(60_000),
        /** Requests one keep-alive connection may carry before it is closed. */
        max_requests_per_socket: int.positive().default(1000),
        /** Open connections the API accepts at once; more are refused. */
        max_connections: int.positive().default(2000),
        /** Deadline of one home-directory operation (a skel copy or a removal may take a while on NFS). */
        home_timeout_ms: int.positive().default(60_000),
        /** Deadline of the API's own Mailman reads (does a list exist?); an unreachable Mailman must not hold a request. */
        api_mailman_timeout_ms: int.positive().default(3000),
        /** Deadline of the API's own database reads (does the member's database exist?), where the host has [mysql] / [postgresql]. */
        api_db_timeout_ms: int.positive().default(3000),
        /** Lifetime of the session cookie issued after a SPNEGO handshake; 0 turns cookies off. */
        session_ttl_seconds: int.min(0).max(86400).default(600),
        /** Mark the session cookie Secure (clients send it only over https, or to localhost). */
        session_cookie_secure: bool.default(true),
        /** Where a worker serves Prometheus metrics (`host:port`, loopback by default); empty turns it off. The API serves them on its own port. */
        metrics_listen: z.union([z.literal('').transform(() => undefined), listen]).prefault('127.0.0.1:9988'),
        /** Client addresses and CIDR blocks that may read `/metrics` (API and workers); empty: nobody (the API then has no /metrics). */
        metrics_allow: csv
          .pipe(z.array(z.string().refine((e) => parseAllowEntry(e) !== null, 'must be IP addresses or CIDR blocks like 10.0.0.0/8')))
          .default(['127.0.0.1', '::1']),
      })
      .strict(),
    ldap: z
      .object({
        url: z.string().regex(/^ldaps?:\/\/|^ldapi:\/\//, 'must be an ldap://, ldaps:// or ldapi:// URL'),
        base: dn,
        users_base: dn,
        groups_base: dn,
        sudo_base: dn,
        bind_dn: dn,
        bind_password_file: absPath.optional(),
        timeout_ms: int.positive().default(5000),
      })
      .strict(),
    kerberos: z
      .object({
        realm: z.string().regex(/^[A-Z0-9.-]+$/, 'must be an upper-case realm name'),
        krb5_config: absPath.optional(),
        service_principal: z.string().min(1),
        service_keytab: absPath.optional(),
        admin_principal: z.string().min(1),
        admin_keytab: absPath.optional(),
        kadmin_path: z.string().default('kadmin'),
        /** One long-lived kadmin session (default) or a kadmin process per operation. */
        kadmin_session: bool.default(true),
        /** The kadmin session is replaced after this long, well before its ticket could expire. */
        kadmin_session_max_age_ms: int.positive().default(300_000),
        /** An idle kadmin session is closed after this long. */
        kadmin_session_idle_ms: int.positive().default(30_000),
        timeout_ms: int.positive().default(10000),
      })
      .strict(),
    redis: z
      .object({
        /** One Redis server; or `sentinels` instead. */
        url: z.string().regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL').optional(),
        /** Redis behind Sentinel: the Sentinels to ask for the master (`host:port,…`); every connection follows a failover. */
        sentinels: csv.pipe(z.array(hostPort).min(1, 'at least one host:port')).optional(),
        /** The master's name as the Sentinels know it (`sentinel monitor <name> …`). */
        sentinel_name: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, ., - and _ only').default('ceod'),
        /** The ACL user to log in to the Sentinels as, when they require one. */
        sentinel_username: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, ., - and _ only').optional(),
        sentinel_password_file: absPath.optional(),
        /** The ACL user ceod connects as (Redis 6+); the default user when absent. */
        username: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, ., - and _ only').optional(),
        password_file: absPath.optional(),
        prefix: z.string().regex(/^[a-zA-Z0-9_-]+$/, 'letters, digits, - and _ only').default('ceod'),
        /** The API answers 202 only once this many replicas hold the new job (Redis WAIT); 0: no wait. */
        wait_replicas: int.min(0).max(16).default(0),
        /** How long the API waits for those replicas; short of them, it answers 503 (the job may still run: retry with the same Idempotency-Key). */
        wait_timeout_ms: int.positive().max(60_000).default(1000),
      })
      .strict()
      .superRefine((r, ctx) => {
        if (!r.url && !r.sentinels) ctx.addIssue({ code: 'custom', path: ['url'], message: 'required (or sentinels)' });
        if (r.url && r.sentinels) ctx.addIssue({ code: 'custom', path: ['sentinels'], message: 'give url or sentinels, not both' });
      }),
    members: idRange.and(
      z.object({ home_root: absPath, skel: absPath.optional() }),
    ),
    clubs: idRange.and(
      z.object({
        home_root: absPath,
        /** The club's sudo role (docs/directory.md#sudo-roles): members of the club's group run these as the club user. */
        sudo_hosts: csv.pipe(z.array(z.string().regex(/^[^\s,]+$/, 'must be host names or ALL')).min(1)).default(['ALL']),
        sudo_commands: csv.pipe(z.array(absPathOrAll).min(1)).default(['ALL']),
        sudo_options: csv.pipe(z.array(z.string().regex(/^!?[a-z_]+$/, 'must be sudo options like !authenticate'))).default(['!authenticate']),
      }),
    ),
    shells: z
      .object({
        allowed: csv.pipe(z.array(absPath).min(1)),
        default: absPath,
        expired: absPath,
      })
      .strict()
      .refine((s) => s.allowed.includes(s.default), { message: 'default must be one of allowed', path: ['default'] }),
    expiry: z
      .object({
        /** Days into a term before members who did not renew are expired (docs/terms.md#expiry: about one month). */
        grace_days: int.min(0).max(120).default(30),
      })
      .strict()
      .default({ grace_days: 30 }),
    smtp: z
      .object({
        host: z.string().min(1),
        port,
        secure: bool.default(false),
        from: z.string().min(3),
        timeout_ms: int.positive().default(10000),
        /** SMTP connections kept open (pooled) for outgoing mail. */
        max_connections: int.positive().max(32).default(2),
      })
      .strict(),
    mailman: z
      .object({
        url: z.string().regex(/^https?:\/\//, 'must be an http(s) URL'),
        user: z.string().min(1),
        password_file: absPath.optional(),
        list_domain: z.string().min(1),
        new_member_list: z.string().min(1),
        /** Lists members may subscribe themselves to whatever their Mailman policy (besides open or confirm-only, advertised ones). */
        self_service_lists: csv.default([]),
        timeout_ms: int.positive().default(10000),
      })
      .strict(),
    mail: z
      .object({
        announce_to: z.string().min(3),
      })
      .strict(),
    auxiliary_groups: z.record(z.string(), csv).default({}),
    auxiliary_lists: z.record(z.string(), csv).default({}),
    positions: z
      .object({
        available: csv,
        required: csv.default([]),
        executive: csv.default([]),
        /** The group that holds exactly the holders of executive positions. */
        exec_group: z.string().regex(NAME_RE, 'must be a group name').default('exec'),
        /** The list new executives are subscribed to. */
        exec_list: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'must be a list name').default('exec'),
      })
      .strict()
      .superRefine((p, ctx) => {
        for (const key of ['required', 'executive'] as const) {
          const unknown = p[key].find((x) => !p.available.includes(x));
          if (unknown) ctx.addIssue({ code: 'custom', path: [key], message: `${unknown} is not one of available` });
        }
      })
      .optional(),
    /** Members' MySQL (MariaDB) databases: required on a db host, optional elsewhere (an API host with it checks before enqueueing). */
    mysql: databaseServer(3306).optional(),
    /** Members' PostgreSQL databases: as [mysql]. */
    postgresql: databaseServer(5432).optional(),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.ceod.roles.length === 0 && !c.ceod.api_listen) {
      ctx.addIssue({ code: 'custom', path: ['ceod', 'roles'], message: 'a host needs at least one role or api_listen' });
    }
    if (c.ceod.roles.includes('db')) {
      for (const section of ['mysql', 'postgresql'] as const) {
        if (!c[section]) ctx.addIssue({ code: 'custom', path: [section], message: `a host with the db role needs a [${section}] section` });
      }
    }
  });

export type RawConfig = z.infer<typeof configSchema>;

/** Environment variables that may supply a secret instead of its `_file` key. */
export const SECRET_ENV = {
  ldapBindPassword: 'CEOD_LDAP_BIND_PASSWORD',
  redisPassword: 'CEOD_REDIS_PASSWORD',
  sentinelPassword: 'CEOD_REDIS_SENTINEL_PASSWORD',
  mailmanPassword: 'CEOD_MAILMAN_PASSWORD',
  secretsKey: 'CEOD_SECRETS_KEY',
  mysqlPassword: 'CEOD_MYSQL_PASSWORD',
  postgresqlPassword: 'CEOD_POSTGRESQL_PASSWORD',
} as const;

/** Secrets resolved at start; kept apart from the config so logging the config never leaks them. */
export interface Secrets {
  /** The API's certificate and key, on a host that serves the API over HTTPS. */
  tls?: { cert: Buffer; key: Buffer };
  ldapBindPassword: string;
  redisPassword?: string;
  /** The Sentinels' password (`[redis] sentinel_password_file`), when they require one. */
  sentinelPassword?: string;
  mailmanPassword: string;
  /** 32-byte key that encrypts secrets (initial passwords) in job results. */
  secretsKey: Buffer;
  /** The MySQL admin's password, when the config has a [mysql] section. */
  mysqlPassword?: string;
  /** The PostgreSQL admin's password, when the config has a [postgresql] section. */
  postgresqlPassword?: string;
}

export interface Config extends RawConfig {
  secrets: Secrets;
}
