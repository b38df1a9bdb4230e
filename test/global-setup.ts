/**
 * Jest globalSetup (integration and e2e projects): starts the test stack in
 * .test-stack at base port 27000, or reuses it if it runs. No ceod processes:
 * e2e tests spawn their own. Jest may call this once per project, and other
 * test runs may share the stack: a lease per jest process records who uses it.
 *
 * It says what it does on stdout, one line per server it starts and one with
 * the time it took, so a slow or failing start is never a silent pause; and,
 * when no other run uses the stack, it trims what earlier runs left behind
 * (caught mails, oversized logs), which no test relies on: tests find their
 * mails by message id or recipient, sent in the same run.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { acquireLease, otherLeases, stackLayout, startStack, trimStack } from '../tools/devstack';
import { TEST_BASE_PORT, TEST_STACK_DIR } from './helpers/stack';

const say = (line: string) => process.stdout.write(`${line}\n`);

export default async function globalSetup(): Promise<void> {
  const t0 = Date.now();
  const layout = stackLayout(TEST_STACK_DIR);
  // Lease first: a concurrent run's teardown must not stop the stack under us.
  acquireLease(layout);
  say(`\ntest stack ${TEST_STACK_DIR} (base port ${TEST_BASE_PORT}):`);
  const info = await startStack({ dir: TEST_STACK_DIR, basePort: TEST_BASE_PORT, log: (l) => say(`  ${l}`) });
  let trimmed = '';
  if (otherLeases(layout) === 0) {
    const { mails, logs } = trimStack(info, t0);
    const parts = [mails > 0 ? `${mails} old mails` : '', logs.length > 0 ? `${logs.length} large logs` : ''].filter(Boolean);
    if (parts.length > 0) trimmed = `; removed ${parts.join(', ')}`;
  }
  // The Kerberos library reads these from the real environment, which test
  // files cannot change (jest gives them a copy): set them here, before the
  // test workers start, so SPNEGO clients in tests find the realm and a
  // ticket collection that holds several users' tickets (see test/helpers/ceod.ts).
  const ccdir = join(info.dir, 'test-ccache');
  mkdirSync(ccdir, { recursive: true });
  process.env.KRB5_CONFIG = info.krb5.config;
  process.env.KRB5CCNAME = `DIR:${ccdir}`;
  delete process.env.KRB5_CLIENT_KTNAME;
  say(`test stack ready in ${((Date.now() - t0) / 1000).toFixed(1)} s${trimmed}`);
}
