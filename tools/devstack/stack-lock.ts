/**
 * Cross-process coordination on one stack dir: a lock around start and stop
 * (two test runs starting the same stack must not both spawn servers), and
 * leases (a test run stops a shared stack only if no other live run holds one).
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { StackLayout } from './layout';
import { DevstackError } from './processes';

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function lockAgeMs(dir: string): number {
  try {
    return Date.now() - statSync(dir).mtimeMs;
  } catch {
    return 0;
  }
}

/** Runs `work` holding the stack's lock (a directory: mkdir is atomic). A dead holder's lock is taken over. */
export async function withStackLock<T>(layout: StackLayout, work: () => Promise<T>, timeoutMs = 180000): Promise<T> {
  mkdirSync(layout.runDir, { recursive: true });
  const owner = join(layout.lockDir, 'owner');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      mkdirSync(layout.lockDir);
      writeFileSync(owner, `${process.pid}\n`);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    let holder = NaN;
    try {
      holder = Number.parseInt(readFileSync(owner, 'utf8'), 10);
    } catch {
      // The holder is between mkdir and writing its pid, or died there.
      if (lockAgeMs(layout.lockDir) > 10000) {
        rmSync(layout.lockDir, { recursive: true, force: true });
        continue;
      }
    }
    if (holder === process.pid) throw new DevstackError(`stack lock ${layout.lockDir} is already held by this process`);
    if (Number.isInteger(holder) && !pidAlive(holder)) {
      rmSync(layout.lockDir, { recursive: true, force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new DevstackError(`stack ${layout.root} is locked by pid ${holder} (starting or stopping); remove ${layout.lockDir} if that is stale`);
    }
    await sleep(200);
  }
  try {
    return await work();
  } finally {
    rmSync(layout.lockDir, { recursive: true, force: true });
  }
}

/** Records that process `pid` uses the stack. */
export function acquireLease(layout: StackLayout, pid = process.pid): void {
  mkdirSync(layout.leaseDir, { recursive: true });
  writeFileSync(join(layout.leaseDir, String(pid)), `${new Date().toISOString()}\n`);
}

/** How many live processes other than `pid` hold a lease (dead holders' leases are dropped). */
export function otherLeases(layout: StackLayout, pid = process.pid): number {
  let names: string[];
  try {
    names = readdirSync(layout.leaseDir);
  } catch {
    return 0;
  }
  let live = 0;
  for (const n of names) {
    const holder = Number.parseInt(n, 10);
    if (holder === pid) continue;
    if (!Number.isInteger(holder) || !pidAlive(holder)) rmSync(join(layout.leaseDir, n), { force: true });
    else live++;
  }
  return live;
}

/** Drops `pid`'s lease (and those of dead processes); returns how many live leases remain. */
export function releaseLease(layout: StackLayout, pid = process.pid): number {
  let names: string[];
  try {
    names = readdirSync(layout.leaseDir);
  } catch {
    return 0;
  }
  let live = 0;
  for (const n of names) {
    const holder = Number.parseInt(n, 10);
    if (holder === pid || !Number.isInteger(holder) || !pidAlive(holder)) rmSync(join(layout.leaseDir, n), { force: true });
    else live++;
  }
  return live;
}
