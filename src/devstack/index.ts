/** The local server stack for development, tests and benchmarks: see types.ts for the glossary. */
export { startStack, upStack, stopStack, startService, stopService, stopProcesses, stackStatus, type UpResult } from './stack';
export { readStackInfo } from './stack-info';
export { acquireLease, releaseLease } from './stack-lock';
export { stackLayout } from './layout';
export { PORT_OFFSETS, BASE_PORTS, stackPorts } from './ports';
export { DevstackError } from './processes';
export * from './types';
export { MAIN, freePort, startCeod, waitFor, Tickets, type CeodCluster, type IniEdits, type ProcName } from './ceod-cluster';
