/**
 * The port layout of a stack: base port + a fixed offset, all on 127.0.0.1.
 * The offsets echo each server's standard port so a number is recognizable.
 *
 * | offset | server                                   | dev (17000) | tests (27000) | bench (30000) |
 * | ------ | ---------------------------------------- | ----------- | ------------- | ------------- |
 * | +25    | SMTP catcher (also Mailman's outgoing)   | 17025       | 27025         | 30025         |
 * | +88    | krb5kdc (TCP and UDP)                    | 17088       | 27088         | 30088         |
 * | +306   | MariaDB                                  | 17306       | 27306         | 30306         |
 * | +379   | Redis (behind Sentinel: the first master) | 17379      | 27379         | 30379         |
 * | +380   | Redis replica (behind Sentinel only)     | 17380       | 27380         | 30380         |
 * | +381-3 | the three Sentinels (behind Sentinel only) | 17381-3   | 27381-3       | 30381-3       |
 * | +389   | slapd                                    | 17389       | 27389         | 30389         |
 * | +432   | PostgreSQL                               | 17432       | 27432         | 30432         |
 * | +464   | kpasswd (served by kadmind)              | 17464       | 27464         | 30464         |
 * | +749   | kadmind                                  | 17749       | 27749         | 30749         |
 * | +801   | Mailman REST API                         | 17801       | 27801         | 30801         |
 * | +824   | Mailman LMTP (spare: runner not started) | 17824       | 27824         | 30824         |
 * | +987   | ceod API                                 | 17987       | 27987         | 30987         |
 * | +990–3 | ceod workers' metrics (admin, fs, mail, db) | 17990–3  | 27990–3       | 30990–3       |
 */
import type { StackPorts } from './types';

export const PORT_OFFSETS: Readonly<StackPorts> = Object.freeze({
  smtp: 25,
  kdc: 88,
  mysql: 306,
  redis: 379,
  ldap: 389,
  postgres: 432,
  kpasswd: 464,
  kadmind: 749,
  mailmanRest: 801,
  mailmanLmtp: 824,
  ceodApi: 987,
  // Only with Redis behind Sentinel.
  redisReplica: 380,
  sentinel1: 381,
  sentinel2: 382,
  sentinel3: 383,
  ceodMetrics: 990,
});

/**
 * Conventional base ports, so dev, tests and benchmarks can run side by side.
 * All below the kernel's ephemeral range (32768–60999), where a listening
 * server can lose its port to an outgoing connection (docs/environments.md#ports).
 */
export const BASE_PORTS = Object.freeze({ dev: 17000, test: 27000, bench: 30000 });

/** The metrics ports are four: +990 to +993. */
const MAX_OFFSET = Math.max(...Object.values(PORT_OFFSETS)) + 3;

/** The ports of a stack at `basePort`; refuses privileged or out-of-range bases. */
export function stackPorts(basePort: number): StackPorts {
  if (!Number.isInteger(basePort) || basePort < 1024 || basePort + MAX_OFFSET > 65535) {
    throw new RangeError(`base port must be an integer from 1024 to ${65535 - MAX_OFFSET}, got ${basePort}`);
  }
  const ports = {} as StackPorts;
  for (const [k, off] of Object.entries(PORT_OFFSETS) as [keyof StackPorts, number][]) ports[k] = basePort + off;
  return ports;
}
