/**
 * Where the hosts project's stack is. Apart from ./stack.ts because the jest
 * globalSetup needs these, and must not load the native kerberos module that
 * ./stack.ts loads (the library would read its environment before the setup
 * sets it, and tests run in band in that same process).
 */
import { resolve } from 'node:path';

/** Where the hosts project's stack lives (CEOD_HOSTS_STACK_DIR moves it). */
export const HOSTS_STACK_DIR = resolve(process.env.CEOD_HOSTS_STACK_DIR ?? resolve(__dirname, '..', '..', '.hosts-stack'));

/**
 * Its base port: CEOD_HOSTS_BASE_PORT, else the test stack's. Its servers
 * listen inside their namespaces, so sharing the number with the loopback
 * test stack costs nothing; only the relay takes ports here (base + 500…).
 */
export const HOSTS_BASE_PORT = Number(process.env.CEOD_HOSTS_BASE_PORT ?? process.env.CEOD_TEST_BASE_PORT ?? 27000);
