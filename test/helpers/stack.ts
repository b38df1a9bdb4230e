/**
 * The test stack that test/global-setup.ts starts (integration and e2e
 * projects): `testStack()` describes it; stopService/startService simulate an
 * outage of one server and wait until it answers again.
 *
 * A stopped server is down for every test file running at that moment, so
 * keep outages short and restore them in `finally`.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { StackInfo } from '../../tools/devstack';

export { startService, stopService } from '../../tools/devstack';
/** The stack's Redis refuses anonymous clients: `new IORedis(stack.redis.url, { ...redisAuth(stack), … })`. */
export { redisAuth } from '../../tools/devstack';
export type { ServiceName, StackInfo } from '../../tools/devstack';

/** Where the test stack lives (override with CEOD_TEST_STACK_DIR, e.g. for a second checkout). */
export const TEST_STACK_DIR = resolve(process.env.CEOD_TEST_STACK_DIR ?? resolve(__dirname, '..', '..', '.test-stack'));

/** The test stack's base port (override with CEOD_TEST_BASE_PORT). */
export const TEST_BASE_PORT = Number(process.env.CEOD_TEST_BASE_PORT ?? 27000);

let cached: StackInfo | undefined;

/** The running test stack, from `.test-stack/stack.json`. */
export function testStack(): StackInfo {
  if (cached) return cached;
  const file = resolve(TEST_STACK_DIR, 'stack.json');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new Error(`no test stack at ${file}: run the tests through jest's integration or e2e project (its globalSetup starts the stack)`);
  }
  cached = JSON.parse(text) as StackInfo;
  return cached;
}
