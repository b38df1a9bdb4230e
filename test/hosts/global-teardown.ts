/**
 * Jest globalTeardown of the `hosts` project: stops the multi-host stack and
 * removes its namespaces, unless CEOD_KEEP_STACK=1 (scripts/test.js keeps it
 * between its jest invocations and brings it down at the end) or another live
 * run holds a lease on it.
 */
import { releaseLease, stackLayout } from '../../tools/devstack';
import { downHostsStack } from '../../tools/hosts/harness';
import { HOSTS_STACK_DIR } from './paths';

export default async function globalTeardown(): Promise<void> {
  const others = releaseLease(stackLayout(HOSTS_STACK_DIR));
  if (process.env.CEOD_KEEP_STACK === '1' || others > 0) return;
  await downHostsStack(HOSTS_STACK_DIR, (l) => process.stdout.write(`${l}\n`));
}
