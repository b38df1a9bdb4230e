/**
 * Where each server of a stack runs: the address it binds, the name clients
 * reach it by, and the network namespace it is started in. By default every
 * server is on 127.0.0.1 in the caller's namespace (the dev, test and bench
 * stacks); the multi-host harness (tools/hosts) places them on hosts in
 * network namespaces of their own (docs/environments.md#hosts-in-network-namespaces).
 */
import type { SpawnSpec } from './processes';
import type { Placement, ServiceName, ServicePlace, StackInfo } from './types';

export const LOOPBACK = '127.0.0.1';

const HERE: ServicePlace = { bind: LOOPBACK, host: LOOPBACK };

/** Where `service` runs. */
export function placeOf(placement: Placement | undefined, service: ServiceName): ServicePlace {
  return placement?.services[service] ?? HERE;
}

/** The address `service` listens on. */
export const bindOf = (p: Placement | undefined, service: ServiceName): string => placeOf(p, service).bind;

/** The name or address clients reach `service` by. */
export const hostOf = (p: Placement | undefined, service: ServiceName): string => placeOf(p, service).host;

/**
 * The shell run by `ip netns exec` before the server: a private view of
 * /etc/hosts (the harness's hosts file, bind-mounted in the mount namespace
 * `ip netns exec` makes, so nothing outside sees it), then, for a server that
 * refuses root, its user; then exec, so the pid stays the one we recorded.
 */
const WRAPPER = 'set -e; if [ -n "$CEOD_HOSTS_FILE" ]; then mount --bind "$CEOD_HOSTS_FILE" /etc/hosts; fi; exec "$@"';

/** A command run inside network namespace `netns` (none: as it is), seeing `hostsFile` as /etc/hosts. */
export function inNetns(netns: string | undefined, hostsFile: string | undefined, cmd: string, args: string[], runAs?: { uid: number; gid: number }): { cmd: string; args: string[]; env: Record<string, string> } {
  if (!netns) return { cmd, args, env: {} };
  const drop = runAs ? ['setpriv', `--reuid=${runAs.uid}`, `--regid=${runAs.gid}`, '--clear-groups', '--'] : [];
  return { cmd: 'ip', args: ['netns', 'exec', netns, 'sh', '-c', WRAPPER, 'ceod-netns', ...drop, cmd, ...args], env: hostsFile ? { CEOD_HOSTS_FILE: hostsFile } : {} };
}

/** `spec` as started where `service` runs (unchanged on loopback). */
export function placedSpawn(info: Pick<StackInfo, 'placement'>, service: ServiceName, spec: SpawnSpec): SpawnSpec {
  const place = placeOf(info.placement, service);
  if (!place.netns) return spec;
  const runAs = spec.uid !== undefined && spec.gid !== undefined ? { uid: spec.uid, gid: spec.gid } : undefined;
  const wrapped = inNetns(place.netns, info.placement?.hostsFile, spec.cmd, spec.args, runAs);
  // ip netns exec needs root: the user change happens inside, after the mount.
  const { uid: _uid, gid: _gid, ...rest } = spec;
  return { ...rest, cmd: wrapped.cmd, args: wrapped.args, env: { ...spec.env, ...wrapped.env } };
}
