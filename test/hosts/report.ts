/**
 * Figures of the multi-host fault tests: one `HOSTS {…}` line per scenario on
 * stdout, and, with CEOD_HOSTS_REPORT=FILE, one JSON line appended to FILE
 * (each test file runs in a jest process of its own). RELIABILITY.md quotes them.
 */
import { appendFileSync } from 'node:fs';
import { SCALE } from '../faults/harness';

export function report(scenario: string, data: Record<string, unknown>): void {
  const line = JSON.stringify({ scenario, scale: SCALE, at: new Date().toISOString(), ...data });
  process.stdout.write(`HOSTS ${line}\n`);
  const file = process.env.CEOD_HOSTS_REPORT;
  if (file) appendFileSync(file, `${line}\n`);
}
