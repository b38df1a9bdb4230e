/**
 * The stack as hosts (docs/environments.md#hosts-in-network-namespaces): each
 * host a Linux network namespace of its own, all cabled to one bridge that
 * lives in a namespace of its own (the switch), on a private /24 derived from
 * the base port. Nothing is added to the caller's namespace: no interface, no
 * route, no address.
 *
 * Glossary:
 * - host: a network namespace with one interface (`eth0`) on the switch, an
 *   address, and a name in the hosts file (`<host>.csclub.internal`).
 * - switch: the namespace holding the bridge; its ports are named after the hosts.
 *   Cutting a host's link is `ip link set <host> down` there (the cable pulled at
 *   the switch).
 * - client host: where the harness itself runs its servers' start and probes
 *   (the names resolve there), and the inner half of the relay.
 * - relay: how processes outside the namespaces (the tests, a developer's
 *   shell) reach servers inside: 127.0.0.1:<relay port> here → a unix socket
 *   in the stack dir → a process on the client host → <host>:<port> by name.
 * - prefix: `ceo-<base port>`, the start of every namespace name of one
 *   stack, so runs on other base ports never meet, and a leftover is found.
 */
import { join } from 'node:path';
import { BASE_DOMAIN } from '../devstack/seed';
import type { Placement, ServiceName, StackPorts } from '../devstack/types';

/** The hosts, with their last address octet. */
export const HOSTS = {
  /** The shared servers: slapd, krb5kdc + kadmind, the first Redis master, a Sentinel. */
  servers: 2,
  /** The Redis replica and a Sentinel. */
  redis2: 3,
  /** The API and the admin,fs worker. */
  'phosphoric-acid': 10,
  /** The mail worker, Mailman, the SMTP catcher. */
  mail: 11,
  /** The db worker, MariaDB, PostgreSQL, a Sentinel, and the second API. */
  coffee: 12,
  /** A workstation: the harness's own probes and the relay's inner half. */
  client: 100,
} as const;
export type HostName = keyof typeof HOSTS;
export const HOST_NAMES = Object.keys(HOSTS) as HostName[];

/** Which host runs which server. */
export const SERVICE_HOSTS: Record<ServiceName, HostName> = {
  slapd: 'servers',
  krb5kdc: 'servers',
  kadmind: 'servers',
  redis: 'servers',
  'sentinel-1': 'servers',
  'redis-replica': 'redis2',
  'sentinel-2': 'redis2',
  mailman: 'mail',
  smtp: 'mail',
  mariadb: 'coffee',
  postgres: 'coffee',
  'sentinel-3': 'coffee',
};

/** The ceod processes of the multi-host layout: `<host>/<api|worker>`. */
export const CEOD_PROCS = ['phosphoric-acid/api', 'phosphoric-acid/worker', 'mail/worker', 'coffee/worker', 'coffee/api'] as const;
export type CeodProc = (typeof CEOD_PROCS)[number];

/** The roles of each worker (docs/hosts-and-roles.md). */
export const WORKER_ROLES: Record<string, string[]> = {
  'phosphoric-acid': ['admin', 'fs'],
  mail: ['mail'],
  coffee: ['db'],
};

/** Hosts serving the API, each with its own `ceod/<fqdn>` principal. */
export const API_HOSTS: HostName[] = ['phosphoric-acid', 'coffee'];

export const fqdn = (host: HostName): string => `${host}.${BASE_DOMAIN}`;

/** What the relay forwards: a name, the host and port inside, and the port it listens on here (127.0.0.1). */
export interface RelayTarget {
  name: string;
  host: string;
  port: number;
  listen: number;
}

/** The addresses and names of one stack's hosts. */
export interface Topology {
  basePort: number;
  /** `ceo-<base port>`: every namespace name of this stack starts with it and a dash. */
  prefix: string;
  /** The /24 the hosts are on, e.g. `10.250.250.0/24`. */
  subnet: string;
  /** The switch's namespace. */
  switchNetns: string;
  netns(host: HostName): string;
  address(host: HostName): string;
  /** The hosts file every host sees as /etc/hosts. */
  hostsFile: string;
  /** The first port of the relay's listeners on 127.0.0.1 (base port + 500). */
  relayBase: number;
}

/**
 * The topology of the stack in `dir` at `basePort`. The subnet's third octet
 * is (base port / 100) mod 256: 25000 → 10.250.250.0/24, 17000 → 10.250.170.0/24.
 * Namespaces are private, so two stacks on one subnet would not meet anyway;
 * the derivation only keeps addresses in logs telling.
 */
export function topology(dir: string, basePort: number): Topology {
  const third = Math.floor(basePort / 100) % 256;
  const prefix = `ceo-${basePort}`;
  return {
    basePort,
    prefix,
    subnet: `10.250.${third}.0/24`,
    switchNetns: `${prefix}-net`,
    netns: (host) => `${prefix}-${host}`,
    address: (host) => `10.250.${third}.${HOSTS[host]}`,
    hostsFile: join(dir, 'net', 'hosts'),
    relayBase: basePort + 500,
  };
}

/** The text of the hosts file: every host by its full and short name. */
export function hostsFileText(t: Topology): string {
  const lines = HOST_NAMES.map((h) => `${t.address(h).padEnd(16)}${fqdn(h)} ${h}`);
  return `# Written by tools/hosts for the stack at base port ${t.basePort}; seen as /etc/hosts on its hosts only.
127.0.0.1       localhost
::1             localhost ip6-localhost ip6-loopback
${lines.join('\n')}
`;
}

/** Where each server of the stack runs: on its host's address, reached by its host's name. */
export function placement(t: Topology): Placement {
  const services: Placement['services'] = {};
  for (const [service, host] of Object.entries(SERVICE_HOSTS) as [ServiceName, HostName][]) {
    services[service] = { bind: t.address(host), host: fqdn(host), netns: t.netns(host) };
  }
  return { services, hostsFile: t.hostsFile, clientNetworks: [t.subnet] };
}

/** What the relay forwards, for a stack with these ports. */
export function relayTargets(t: Topology, ports: StackPorts, sentinel: boolean): RelayTarget[] {
  const at = (name: string, host: HostName, port: number) => ({ name, host: fqdn(host), port });
  const list = [
    at('api-phosphoric-acid', 'phosphoric-acid', ports.ceodApi),
    at('api-coffee', 'coffee', ports.ceodApi),
    at('kdc', 'servers', ports.kdc),
    at('kadmind', 'servers', ports.kadmind),
    at('kpasswd', 'servers', ports.kpasswd),
    at('ldap', 'servers', ports.ldap),
    at('redis', 'servers', ports.redis),
    at('mailman', 'mail', ports.mailmanRest),
    at('smtp', 'mail', ports.smtp),
    at('mysql', 'coffee', ports.mysql),
    at('postgres', 'coffee', ports.postgres),
    ...(sentinel
      ? [
          at('redis-replica', 'redis2', ports.redisReplica),
          at('sentinel-1', 'servers', ports.sentinel1),
          at('sentinel-2', 'redis2', ports.sentinel2),
          at('sentinel-3', 'coffee', ports.sentinel3),
        ]
      : []),
  ];
  return list.map((x, i) => ({ ...x, listen: t.relayBase + i }));
}
