/**
 * Jest globalSetup of the `hosts` project: the multi-host stack (tools/hosts)
 * in .hosts-stack, started or reused: hosts in network namespaces, Redis
 * behind Sentinel. Needs root and iproute2; says so and fails otherwise.
 * The test process reaches the hosts through the relay on 127.0.0.1, with the
 * krb5.conf that points there (set here, before the test workers start: the
 * Kerberos library reads the real environment only).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { acquireLease, stackLayout } from '../../tools/devstack';
import { upHostsStack } from '../../tools/hosts/harness';
import { HOSTS_BASE_PORT, HOSTS_STACK_DIR } from './paths';

const say = (line: string) => process.stdout.write(`${line}\n`);

export default async function globalSetup(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('the hosts project needs root (ip netns); run it as root');
  try {
    execFileSync('ip', ['netns', 'list'], { stdio: 'ignore' });
  } catch {
    throw new Error('the hosts project needs iproute2 (ip netns)');
  }
  const t0 = Date.now();
  acquireLease(stackLayout(HOSTS_STACK_DIR));
  say(`\nmulti-host stack ${HOSTS_STACK_DIR} (base port ${HOSTS_BASE_PORT}):`);
  const { info, state } = await upHostsStack({ dir: HOSTS_STACK_DIR, basePort: HOSTS_BASE_PORT, redis: 'sentinel', log: (l) => say(`  ${l}`) });
  const ccdir = join(info.dir, 'test-ccache');
  mkdirSync(ccdir, { recursive: true });
  process.env.KRB5_CONFIG = state.outsideKrb5Conf;
  process.env.KRB5CCNAME = `DIR:${ccdir}`;
  delete process.env.KRB5_CLIENT_KTNAME;
  say(`multi-host stack ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}
