/**
 * Jest setupFiles (integration, e2e, faults, hosts): the test stack's API serves
 * HTTPS with the stack's own CA (tools/devstack/tls.ts), as production serves
 * it with the club's. Trust that CA in this test process, as NODE_EXTRA_CA_CERTS
 * would had it been set before the process started: for `fetch` and for
 * `node:https`. The system roots stay trusted.
 *
 * `fetch` is replaced by undici's own, with a dispatcher that trusts the CA:
 * jest runs test files in a separate global, so setting undici's global
 * dispatcher there is not seen by the fetch Node's own global uses.
 */
import { existsSync, readFileSync } from 'node:fs';
import { globalAgent } from 'node:https';
import { resolve } from 'node:path';
import { rootCertificates } from 'node:tls';
import { Agent, fetch as undiciFetch } from 'undici';

// The test stack's, and the multi-host stack's (the hosts project) when it exists.
const dirs = [
  process.env.CEOD_TEST_STACK_DIR ?? resolve(__dirname, '..', '..', '.test-stack'),
  process.env.CEOD_HOSTS_STACK_DIR ?? resolve(__dirname, '..', '..', '.hosts-stack'),
];
const caFiles = dirs.map((d) => resolve(d, 'tls', 'ca.crt')).filter((f) => existsSync(f));
if (caFiles.length > 0) {
  const ca = [...rootCertificates, ...caFiles.map((f) => readFileSync(f, 'utf8'))];
  const dispatcher = new Agent({ connect: { ca } });
  globalThis.fetch = ((input: Parameters<typeof undiciFetch>[0], init?: Parameters<typeof undiciFetch>[1]) =>
    undiciFetch(input, { dispatcher, ...init })) as unknown as typeof fetch;
  globalAgent.options.ca = ca;
}
