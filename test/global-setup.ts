/**
 * Jest globalSetup (integration and e2e projects): starts the test stack in
 * .test-stack at base port 27000, or reuses it if it runs. No ceod processes:
 * e2e tests spawn their own. Jest may call this once per project, and other
 * test runs may share the stack: a lease per jest process records who uses it.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { acquireLease, stackLayout, startStack } from '../tools/devstack';
import { TEST_BASE_PORT, TEST_STACK_DIR } from './helpers/stack';

export default async function globalSetup(): Promise<void> {
  const t0 = Date.now();
  // Lease first: a concurrent run's teardown must not stop the stack under us.
  acquireLease(stackLayout(TEST_STACK_DIR));
  const info = await startStack({ dir: TEST_STACK_DIR, basePort: TEST_BASE_PORT });
  // The Kerberos library reads these from the real environment, which test
  // files cannot change (jest gives them a copy): set them here, before the
  // test workers start, so SPNEGO clients in tests find the realm and a
  // ticket collection that holds several users' tickets (see test/helpers/ceod.ts).
  const ccdir = join(info.dir, 'test-ccache');
  mkdirSync(ccdir, { recursive: true });
  process.env.KRB5_CONFIG = info.krb5.config;
  process.env.KRB5CCNAME = `DIR:${ccdir}`;
  delete process.env.KRB5_CLIENT_KTNAME;
  if (process.env.CEOD_STACK_VERBOSE === '1') {
    process.stdout.write(`\ntest stack ready in ${Date.now() - t0} ms: ${info.dir} (base port ${info.basePort})\n`);
  }
}
