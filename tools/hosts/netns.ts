/**
 * The network of a multi-host stack, made and unmade with `ip`: one namespace
 * per host and one for the switch (a bridge), a veth pair per host made
 * directly between the switch and the host (no interface ever exists in the
 * caller's namespace), and the cut of a host's link. Needs root and iproute2.
 *
 * Everything is named `<prefix>-…` (prefix `ceo-<base port>`), so a leftover
 * of a killed run is found by name: `removeNetwork` kills the processes still
 * in those namespaces (by pid, from `ip netns pids`: only what this stack
 * started runs there) and deletes them.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { HOST_NAMES, type HostName, hostsFileText, type Topology } from './topology';

/** `ip …`, throwing with its stderr. */
function ip(args: string[]): string {
  try {
    return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`ip ${args.join(' ')}: ${(err.stderr ?? err.message).trim()}`);
  }
}

/** Names of the namespaces that exist. */
export function listNetns(): string[] {
  return ip(['netns', 'list'])
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0]!)
    .filter(Boolean);
}

/** The namespaces of the stack with this prefix that exist now. */
export function stackNetns(prefix: string): string[] {
  return listNetns().filter((n) => n.startsWith(`${prefix}-`));
}

/** Pids of the processes in a namespace. */
export function netnsPids(ns: string): number[] {
  try {
    return ip(['netns', 'pids', ns])
      .split('\n')
      .map((l) => Number(l.trim()))
      .filter((n) => Number.isInteger(n) && n > 1);
  } catch {
    return [];
  }
}

/** Whether every namespace of the topology exists. */
export function networkExists(t: Topology): boolean {
  const have = new Set(stackNetns(t.prefix));
  return have.has(t.switchNetns) && HOST_NAMES.every((h) => have.has(t.netns(h)));
}

/**
 * Removes every namespace named `<prefix>-…`: first SIGKILLs what still runs
 * in them (a killed run's servers), then deletes them. Returns what it removed.
 */
export async function removeNetwork(prefix: string): Promise<{ namespaces: string[]; killed: number[] }> {
  const namespaces = stackNetns(prefix);
  const killed: number[] = [];
  for (const ns of namespaces) {
    for (const pid of netnsPids(ns)) {
      try {
        process.kill(pid, 'SIGKILL');
        killed.push(pid);
      } catch {
        // gone already
      }
    }
  }
  // Let the killed go (a namespace with a process in it outlives `ip netns del`).
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline && namespaces.some((ns) => netnsPids(ns).length > 0)) await new Promise((r) => setTimeout(r, 50));
  for (const ns of namespaces) {
    try {
      ip(['netns', 'del', ns]);
    } catch {
      // removed meanwhile
    }
  }
  return { namespaces, killed };
}

/**
 * Makes the switch and the hosts (after removing any leftover with the
 * prefix), and writes the hosts file. Each host: loopback up, `eth0` with its
 * address on the subnet, no default route (nothing can leave the subnet).
 */
export async function createNetwork(t: Topology): Promise<void> {
  await removeNetwork(t.prefix);
  mkdirSync(dirname(t.hostsFile), { recursive: true });
  writeFileSync(t.hostsFile, hostsFileText(t), { mode: 0o644 });
  const sw = t.switchNetns;
  try {
    ip(['netns', 'add', sw]);
    ip(['-n', sw, 'link', 'set', 'lo', 'up']);
    ip(['-n', sw, 'link', 'add', 'br0', 'type', 'bridge']);
    ip(['-n', sw, 'link', 'set', 'br0', 'up']);
    for (const h of HOST_NAMES) {
      const ns = t.netns(h);
      ip(['netns', 'add', ns]);
      ip(['-n', ns, 'link', 'set', 'lo', 'up']);
      // Made inside the switch with its peer straight in the host: never in our namespace.
      ip(['-n', sw, 'link', 'add', portName(h), 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
      ip(['-n', sw, 'link', 'set', portName(h), 'master', 'br0']);
      ip(['-n', sw, 'link', 'set', portName(h), 'up']);
      ip(['-n', ns, 'addr', 'add', `${t.address(h)}/24`, 'dev', 'eth0']);
      ip(['-n', ns, 'link', 'set', 'eth0', 'up']);
    }
  } catch (e) {
    await removeNetwork(t.prefix);
    throw e;
  }
}

/** The switch port of a host (an interface name: at most 15 bytes). */
export function portName(h: HostName): string {
  return h.slice(0, 15);
}

/** Pulls (down) or plugs back (up) a host's cable at the switch. */
export function setLink(t: Topology, host: HostName, state: 'up' | 'down'): void {
  ip(['-n', t.switchNetns, 'link', 'set', portName(host), state]);
}

/** Whether a host's switch port is up. */
export function linkIsUp(t: Topology, host: HostName): boolean {
  return /state (UP|LOWERLAYERDOWN)|<[^>]*\bUP\b/.test(ip(['-n', t.switchNetns, 'link', 'show', portName(host)]));
}
