/** The local server stack for development, tests and benchmarks: see types.ts for the glossary. */
// Not re-exported here: ./ceod-cluster loads the native kerberos module, which jest's globalSetup (it imports this index) must not load into a process that later runs tests in band.
export { startStack, upStack, stopStack, startService, stopService, stopProcesses, stackStatus, type UpResult } from './stack';
export { readStackInfo } from './stack-info';
export { acquireLease, otherLeases, releaseLease } from './stack-lock';
export { trimStack } from './trim';
export { stackLayout } from './layout';
export { redisAuth, sentinelAuth } from './redis';
export { stackServices } from './services';
export { bindOf, hostOf, inNetns, placeOf, LOOPBACK } from './placement';
export { PORT_OFFSETS, BASE_PORTS, stackPorts } from './ports';
export { DevstackError } from './processes';
export * from './types';
