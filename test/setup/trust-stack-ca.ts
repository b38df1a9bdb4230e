/**
 * Jest setupFiles (integration, e2e, faults): the test stack's API serves
 * HTTPS with the stack's own CA (tools/devstack/tls.ts), as production serves
 * it with the club's. Trust that CA in this test process, for `fetch` (undici's
 * global dispatcher) and for `node:https`, the way NODE_EXTRA_CA_CERTS would if
 * it had been set before the process started. Nothing else is trusted less:
 * the system roots stay.
 *
 * The global `fetch` a test calls is Node's own, from the realm jest runs in,
 * and it reads its dispatcher from that realm's `globalThis`, not from the
 * test's sandbox (jest copies named globals into the sandbox, not symbol-keyed
 * ones): so the dispatcher is installed on both. `fetch.constructor` is that
 * realm's `Function`, the one way to its `globalThis` from here.
 */
import { existsSync, readFileSync } from 'node:fs';
import { globalAgent } from 'node:https';
import { resolve } from 'node:path';
import { rootCertificates } from 'node:tls';
import { Agent, setGlobalDispatcher } from 'undici';

const dir = resolve(process.env.CEOD_TEST_STACK_DIR ?? resolve(__dirname, '..', '..', '.test-stack'));
const caFile = resolve(dir, 'tls', 'ca.crt');
if (existsSync(caFile)) {
  const ca = [...rootCertificates, readFileSync(caFile, 'utf8')];
  const agent = new Agent({ connect: { ca } });
  setGlobalDispatcher(agent);
  const outer = (fetch as unknown as { constructor: FunctionConstructor }).constructor('return globalThis')() as Record<symbol, unknown>;
  outer[Symbol.for('undici.globalDispatcher.1')] = agent;
  globalAgent.options.ca = ca;
}
