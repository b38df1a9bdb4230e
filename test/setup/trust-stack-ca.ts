/**
 * Jest setupFiles (integration, e2e, faults): the test stack's API serves
 * HTTPS with the stack's own CA (tools/devstack/tls.ts), as production serves
 * it with the club's. Trust that CA in this test process, for `fetch` (undici's
 * global dispatcher) and for `node:https`, the way NODE_EXTRA_CA_CERTS would if
 * it had been set before the process started. Nothing else is trusted less:
 * the system roots stay.
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
  setGlobalDispatcher(new Agent({ connect: { ca } }));
  globalAgent.options.ca = ca;
}
