/**
 * Keeping a long-lived stack dir (the test stack is reused run after run) from
 * growing without bound: caught mails from earlier runs, and logs past a size.
 * Callers trim only when nobody else uses the stack (no other live lease):
 * a concurrent run may still be waiting for a mail it just sent.
 *
 * Not trimmed: what tests create in LDAP, Kerberos, Mailman and the home
 * dirs (users with random names; removing them would need the daemon's own
 * delete path), and Redis keys (job records and finished queue jobs expire
 * after ceod's job retention, 7 days by default).
 */
import { readdirSync, rmSync, statSync, truncateSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { stackLayout } from './layout';
import type { StackInfo } from './types';

/** A log past this size is emptied at the next trim. */
export const MAX_LOG_BYTES = 8 * 1024 * 1024;

export interface TrimResult {
  mails: number;
  logs: string[];
}

/** The catcher names each mail `<ms timestamp>-<random>.eml`; files without a timestamp go by their mtime. */
function mailTime(dir: string, name: string): number {
  const m = /^(\d{13})-/.exec(name);
  if (m) return Number(m[1]);
  try {
    return statSync(join(dir, name)).mtimeMs;
  } catch {
    return Number.POSITIVE_INFINITY; // gone already
  }
}

function removeOlder(dir: string, before: number): number {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return 0;
  }
  let removed = 0;
  for (const n of names) {
    if (mailTime(dir, n) >= before) continue;
    rmSync(join(dir, n), { force: true, recursive: true });
    removed++;
  }
  return removed;
}

/** Log files of the stack: ours (one per process), Kerberos's, Mailman's own. */
function logFiles(info: StackInfo): string[] {
  const layout = stackLayout(info.dir);
  const out: string[] = [];
  for (const dir of [layout.logsDir, join(layout.mailmanVar, 'logs')]) {
    try {
      for (const n of readdirSync(dir)) if (n.endsWith('.log')) out.push(join(dir, n));
    } catch {
      // not made yet
    }
  }
  return out;
}

/**
 * Removes mails caught before `before` (ms since the epoch) and empties logs
 * larger than `maxLogBytes`. Emptying in place is safe while a server runs:
 * every writer appends (O_APPEND), so it goes on at the new end.
 */
export function trimStack(info: StackInfo, before: number, maxLogBytes = MAX_LOG_BYTES): TrimResult {
  const mails = removeOlder(info.smtp.mailDir, before);
  // Leftovers of a catcher killed mid-write.
  removeOlder(`${info.smtp.mailDir.replace(/\/+$/, '')}.tmp`, before);
  const logs: string[] = [];
  for (const f of logFiles(info)) {
    let size: number;
    try {
      size = statSync(f).size;
    } catch {
      continue;
    }
    if (size <= maxLogBytes) continue;
    truncateSync(f, 0);
    appendFileSync(f, `--- ${new Date().toISOString()} emptied by the stack trim (was ${size} bytes)\n`);
    logs.push(f);
  }
  return { mails, logs };
}
