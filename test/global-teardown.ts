/**
 * Jest globalTeardown: stops the test stack unless CEOD_KEEP_STACK=1 or
 * another live test run still holds a lease on it. Idempotent (it may be
 * called once per project). Data stays in .test-stack for the next run.
 */
import { releaseLease, stackLayout, stopStack } from '../tools/devstack';
import { TEST_STACK_DIR } from './helpers/stack';

export default async function globalTeardown(): Promise<void> {
  const others = releaseLease(stackLayout(TEST_STACK_DIR));
  if (process.env.CEOD_KEEP_STACK === '1' || others > 0) return;
  await stopStack(TEST_STACK_DIR);
}
