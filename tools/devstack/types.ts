/**
 * The local server stack ("devstack") that development, tests and benchmarks
 * run against (docs/environments.md): real slapd, MIT krb5kdc + kadmind, Redis, Mailman 3
 * core, an SMTP catcher, MariaDB and PostgreSQL, all on 127.0.0.1 in one
 * private directory, plus a dev CA and a certificate for `localhost`.
 *
 * Glossary:
 * - stack dir (DIR): the directory holding every config, database, log, pid
 *   file and secret of one stack; `DIR/stack.json` describes it (`StackInfo`).
 * - base port: every server listens on base port + a fixed offset (`ports.ts`).
 * - service: one server process of the stack (`ServiceName`).
 * - ceod process: the project's own API / worker processes, optionally started
 *   on top of the stack with their generated per-host configs (`CeodName`).
 * - seed: the users, groups, principals and lists every stack starts with.
 * - admin user (MariaDB, PostgreSQL): the account the stack creates with a
 *   generated password, allowed to create and drop databases and users.
 * - dev CA: a certificate authority made once per stack (`DIR/tls`) that signs
 *   the stack's `localhost` server certificate; clients trust it through env.sh.
 * - placement: where each server runs (the address it binds, the name clients
 *   use, the network namespace it starts in); absent, all are on 127.0.0.1 here.
 *   The multi-host harness (tools/hosts) places them on hosts.
 * - Sentinel topology (`redis: 'sentinel'`): Redis as a first master, its
 *   replica and three Sentinels, instead of one server.
 */

/** The server processes of every stack, in start order. */
export const SERVICE_NAMES = ['slapd', 'krb5kdc', 'kadmind', 'redis', 'mailman', 'smtp', 'mariadb', 'postgres'] as const;
/**
 * The extra servers of a stack whose Redis runs behind Sentinel (`redis:
 * 'sentinel'`): `redis` is then the first master, `redis-replica` its replica,
 * and three Sentinels watch them.
 */
export const SENTINEL_SERVICE_NAMES = ['redis-replica', 'sentinel-1', 'sentinel-2', 'sentinel-3'] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number] | (typeof SENTINEL_SERVICE_NAMES)[number];

/** Where one server runs (tools/devstack/placement.ts). */
export interface ServicePlace {
  /** The address it listens on. */
  bind: string;
  /** The name (or address) clients use to reach it. */
  host: string;
  /** The network namespace it is started in (`ip netns exec`); none: the caller's. */
  netns?: string;
}

/** Where the servers of a stack run; absent: all on 127.0.0.1, in the caller's network namespace. */
export interface Placement {
  services: Partial<Record<ServiceName, ServicePlace>>;
  /** The hosts file servers in a namespace see as /etc/hosts (so they resolve each other's names). */
  hostsFile?: string;
  /** Networks (CIDR) clients of the servers come from besides loopback, for the servers that allow by address (PostgreSQL, MariaDB). */
  clientNetworks?: string[];
}

/** The ceod processes `--with-ceod` starts: the API, and one worker per role. */
export const CEOD_NAMES = ['api', 'admin', 'fs', 'mail', 'db'] as const;
export type CeodName = (typeof CEOD_NAMES)[number];

/** Seeded users; each has a principal with a generated password. */
export const SEED_UIDS = ['ctdalek', 'office1', 'regular1'] as const;
export type SeedUid = (typeof SEED_UIDS)[number];

/** Ports the stack listens on (all on 127.0.0.1). */
export interface StackPorts {
  smtp: number;
  kdc: number;
  redis: number;
  ldap: number;
  kpasswd: number;
  kadmind: number;
  mailmanRest: number;
  mailmanLmtp: number;
  /** MariaDB (named for the protocol, as the clients and env.sh are). */
  mysql: number;
  postgres: number;
  ceodApi: number;
  /** Only with Redis behind Sentinel: the replica and the three Sentinels. */
  redisReplica: number;
  sentinel1: number;
  sentinel2: number;
  sentinel3: number;
  /** The first of the workers' metrics ports (`[ceod] metrics_listen`): admin, then fs, mail, db. */
  ceodMetrics: number;
}

/** How a Mailman list admits subscribers (field names as in its REST list config). */
export interface ListPolicy {
  /** `confirm`: anyone may join after confirming their address; `moderate`: a moderator approves each request. */
  subscription_policy: 'open' | 'confirm' | 'moderate' | 'confirm_then_moderate';
  /** Whether the list shows in public list indexes. */
  advertised: boolean;
}

/** A seeded user, with the password of its Kerberos principal. */
export interface SeedUserInfo {
  uid: SeedUid;
  dn: string;
  uidNumber: number;
  homeDirectory: string;
  password: string;
  /** Groups (cn) the user is a uniqueMember of. */
  groups: string[];
}

/** A seeded non-personal group. */
export interface SeedGroupInfo {
  cn: string;
  dn: string;
  gidNumber: number;
  /** uids of its members. */
  members: string[];
}

/** Everything there is to know about a running stack; written to `DIR/stack.json`. */
export interface StackInfo {
  /** Format of stack.json; bumped on incompatible change. */
  version: 1;
  dir: string;
  basePort: number;
  ports: StackPorts;
  realm: string;
  baseDomain: string;
  ldap: {
    url: string;
    baseDn: string;
    usersBase: string;
    groupsBase: string;
    sudoBase: string;
    adminDn: string;
    adminPassword: string;
    adminPasswordFile: string;
    configFile: string;
    dataDir: string;
  };
  krb5: {
    realm: string;
    /** KRB5_CONFIG for every client and server of the realm. */
    config: string;
    /** KRB5_KDC_PROFILE for krb5kdc, kadmind, kdb5_util and kadmin.local. */
    kdcProfile: string;
    aclFile: string;
    databaseDir: string;
    /** KRB5RCACHEDIR for servers and acceptors (else the replay cache lands in /var/tmp). */
    rcacheDir: string;
    kdcAddress: string;
    kadmindAddress: string;
    kpasswdAddress: string;
    servicePrincipal: string;
    serviceKeytab: string;
    adminPrincipal: string;
    adminKeytab: string;
    /** The KRB5CCNAME that env.sh gives a developer's shell. */
    userCcache: string;
  };
  redis: {
    /** Without credentials: safe to log. Clients authenticate as `user` (see `authUrl`). */
    url: string;
    /** `url` with the ceod user's credentials, for redis-cli -u and ioredis; never log it. */
    authUrl: string;
    host: string;
    port: number;
    /** The ACL user ceod connects as; the default user is disabled. */
    user: string;
    password: string;
    passwordFile: string;
    dir: string;
    configFile: string;
    /** Present when Redis runs behind Sentinel: `host`/`port` above are then the first master's. */
    sentinel?: {
      /** The master's name (`sentinel monitor <name> …`). */
      masterName: string;
      /** Each Sentinel's address as clients reach it. */
      sentinels: { host: string; port: number }[];
      /** The ACL user clients log in to the Sentinels as, and its password. */
      user: string;
      password: string;
      passwordFile: string;
      replica: { host: string; port: number; configFile: string; dir: string };
      /** One config file per Sentinel (Sentinel rewrites it with what it learns). */
      configFiles: string[];
      /** `min-replicas-to-write` of both servers. */
      minReplicasToWrite: number;
    };
  };
  mailman: {
    /** REST root including the API version, e.g. http://127.0.0.1:27801/3.1 */
    url: string;
    user: string;
    password: string;
    passwordFile: string;
    configFile: string;
    varDir: string;
    listDomain: string;
    /** Short names of the lists the seed creates. */
    lists: string[];
    /** How each seeded list admits subscribers, as Mailman's list config says it. */
    listPolicies: Record<string, ListPolicy>;
  };
  smtp: { host: string; port: number; mailDir: string };
  mysql: {
    host: string;
    port: number;
    /** Has every privilege WITH GRANT OPTION, at 127.0.0.1 (TCP) and localhost (the socket). */
    adminUser: string;
    adminPassword: string;
    adminPasswordFile: string;
    socket: string;
    dataDir: string;
  };
  postgres: {
    host: string;
    port: number;
    /** A LOGIN role with CREATEDB and CREATEROLE (not a superuser), password auth (SCRAM) over TCP. */
    adminUser: string;
    adminPassword: string;
    adminPasswordFile: string;
    /** The unix socket directory (for the superuser's peer login during setup). */
    socketDir: string;
    dataDir: string;
  };
  tls: {
    /** The stack's dev CA certificate: what clients trust. */
    caFile: string;
    /** Certificate for DNS:localhost and IP:127.0.0.1, signed by the CA. */
    certFile: string;
    keyFile: string;
  };
  ceod: {
    /** The URL clients use; the host must be `localhost` (SPNEGO asks for ceod/<url host>). */
    url: string;
    apiListen: string;
    /**
     * Service principals of API hosts reached by their own name (the
     * multi-host harness): `ceod/<fqdn>`, each in a keytab of its own.
     */
    hostPrincipals?: Record<string, { principal: string; keytab: string }>;
  };
  /** Where the servers run, when not all on 127.0.0.1 (tools/devstack/placement.ts). */
  placement?: Placement;
  homeRoot: string;
  skelDir: string;
  secretsKeyFile: string;
  users: Record<SeedUid, SeedUserInfo>;
  groups: Record<string, SeedGroupInfo>;
  /** Generated per-host ceod INI files. */
  configs: Record<CeodName, string>;
  logsDir: string;
  envFile: string;
  stackFile: string;
}

/** Options of `startStack`. */
export interface StartOptions {
  dir: string;
  basePort: number;
  /** Also start the ceod API and the four workers (needs `npm run build`). */
  withCeod?: boolean;
  /** Called with one line per notable step (started X, seeded Y). */
  log?: (line: string) => void;
  /** Where each server runs (default: all on 127.0.0.1 here). */
  placement?: Placement;
  /** `sentinel`: Redis as a master, a replica and three Sentinels (default `single`). */
  redis?: 'single' | 'sentinel';
  /** Host names (FQDN) of API hosts that need a `ceod/<fqdn>` principal and keytab of their own. */
  apiHosts?: string[];
}

/** State of one process of the stack, as `stackStatus` reports it. */
export interface ProcessStatus {
  name: ServiceName | `ceod-${CeodName}`;
  pid: number | null;
  running: boolean;
  /** Whether it answered a probe (servers, the ceod API); null when not probed. */
  answering: boolean | null;
  endpoint: string;
  log: string;
}
