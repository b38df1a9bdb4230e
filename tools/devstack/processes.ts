/**
 * Detached processes with pid files: spawn one so it survives its starter, tell
 * whether it still runs, stop it with a bounded wait, wait until it answers.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, closeSync, constants, openSync, readdirSync, readFileSync, rmSync, writeFileSync, statSync, readSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** A process of the stack could not be started, did not answer, or would not stop. */
export class DevstackError extends Error {
  override readonly name = 'DevstackError';
}

/** Finds a server binary: on PATH, else in the sbin dirs a non-root PATH lacks. */
export function findBinary(name: string): string {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin', '/usr/bin', '/bin'];
  for (const d of dirs) {
    if (!d) continue;
    const p = join(d, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // keep looking
    }
  }
  throw new DevstackError(`${name} not found on PATH or in /usr/sbin; install the Debian packages (node scripts/bootstrap.js)`);
}

export interface SpawnSpec {
  /** Name used in messages and file names (slapd, mailman, ceod-api, …). */
  name: string;
  cmd: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
  logFile: string;
  pidFile: string;
  /** Run as this user and group (a server that refuses root, started by root). */
  uid?: number;
  gid?: number;
}

/** Spawns `spec` in its own session, stdout+stderr appended to its log, no stdin, and records its pid. */
export function spawnDetached(spec: SpawnSpec): ChildProcess {
  const fd = openSync(spec.logFile, 'a');
  try {
    writeFileSync(fd, `--- ${new Date().toISOString()} starting ${spec.name}: ${spec.cmd} ${spec.args.join(' ')}\n`);
    const child = spawn(spec.cmd, spec.args, {
      cwd: spec.cwd,
      env: spec.env,
      detached: true,
      stdio: ['ignore', fd, fd],
      ...(spec.uid !== undefined ? { uid: spec.uid } : {}),
      ...(spec.gid !== undefined ? { gid: spec.gid } : {}),
    });
    if (child.pid === undefined) {
      throw new DevstackError(`${spec.name}: cannot spawn ${spec.cmd} (is it installed?); see ${spec.logFile}`);
    }
    child.on('error', () => undefined); // reported through the exit check in waitUntilAnswers
    child.unref();
    writeFileSync(spec.pidFile, `${child.pid}\n`);
    return child;
  } finally {
    closeSync(fd);
  }
}

/** The pid recorded in `file`, or null. */
export function readPid(file: string): number | null {
  try {
    const pid = Number.parseInt(readFileSync(file, 'utf8').trim(), 10);
    return Number.isInteger(pid) && pid > 1 ? pid : null;
  } catch {
    return null;
  }
}

function procText(pid: number, what: 'stat' | 'cmdline'): string | null {
  try {
    return readFileSync(`/proc/${pid}/${what}`, 'latin1');
  } catch {
    return null;
  }
}

/**
 * Whether `pid` is a live (non-zombie) process whose command line mentions
 * `marker` (the stack dir): a recycled pid belonging to something else is not ours.
 */
export function isOurProcess(pid: number | null, marker: string): boolean {
  if (pid === null) return false;
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const stat = procText(pid, 'stat');
  if (stat === null) return true; // no /proc: trust kill(0)
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  if (state === 'Z' || state === 'X') return false;
  const cmdline = procText(pid, 'cmdline');
  return cmdline === null || cmdline.includes(marker);
}

/**
 * Whether any live process is left in process group `pgid`. Zombies do not
 * count: where PID 1 reaps orphans slowly (some VMs take ~1.5 s), a signal to
 * the group would still "reach" them.
 */
function groupAlive(pgid: number): boolean {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    try {
      process.kill(-pgid, 0);
      return true;
    } catch {
      return false;
    }
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    const stat = procText(Number(e), 'stat');
    if (stat === null) continue;
    // After "(comm)": state ppid pgrp ...
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(pgrp) === pgid && state !== 'Z' && state !== 'X') return true;
  }
  return false;
}

function isGone(pid: number): boolean {
  const stat = procText(pid, 'stat');
  if (stat !== null) {
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    if (state === 'Z' || state === 'X') return true;
  }
  try {
    process.kill(pid, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/**
 * Sends `signal` to `pid`, waits up to `graceMs` for it and its process group
 * (a server's own children, e.g. Mailman's runners) to exit, then SIGKILLs the
 * group. Resolves to true if it stopped by itself.
 */
export async function stopPid(pid: number, signal: NodeJS.Signals, graceMs: number): Promise<boolean> {
  try {
    process.kill(pid, signal);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ESRCH') return true;
    throw e;
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (isGone(pid) && !groupAlive(pid)) return true;
    await sleep(50);
  }
  for (const target of [-pid, pid]) {
    try {
      process.kill(target, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  const killDeadline = Date.now() + 5000;
  while (Date.now() < killDeadline && !(isGone(pid) && !groupAlive(pid))) await sleep(50);
  return false;
}

/** Removes a pid file, ignoring a missing one. */
export function removePidFile(file: string): void {
  rmSync(file, { force: true });
}

/** The last `lines` lines of a log file, for error messages. */
export function logTail(file: string, lines = 15): string {
  try {
    const size = statSync(file).size;
    const len = Math.min(size, 8192);
    const buf = Buffer.alloc(len);
    const fd = openSync(file, 'r');
    try {
      readSync(fd, buf, 0, len, size - len);
    } finally {
      closeSync(fd);
    }
    return buf.toString('utf8').split('\n').filter(Boolean).slice(-lines).map((l) => `    ${l}`).join('\n');
  } catch {
    return '    (no log)';
  }
}

export interface WaitSpec {
  name: string;
  /** What is being waited for, e.g. "ldap://127.0.0.1:27389". */
  endpoint: string;
  probe: () => Promise<boolean>;
  timeoutMs: number;
  logFile: string;
  /** The process just spawned: if it exits, stop waiting at once. */
  child?: ChildProcess;
}

/** Polls `probe` until it answers; throws a DevstackError naming the server and its log otherwise. */
export async function waitUntilAnswers(w: WaitSpec): Promise<void> {
  let exit: string | null = null;
  const onExit = (code: number | null, sig: NodeJS.Signals | null) => {
    exit = sig ? `was killed by ${sig}` : `exited with code ${code}`;
  };
  const onError = (e: Error) => {
    exit = `could not be started: ${e.message}`;
  };
  w.child?.once('exit', onExit);
  w.child?.once('error', onError);
  try {
    const deadline = Date.now() + w.timeoutMs;
    for (;;) {
      if (await w.probe()) return;
      if (exit) {
        throw new DevstackError(`${w.name} ${exit} before answering on ${w.endpoint}; see ${w.logFile}:\n${logTail(w.logFile)}`);
      }
      if (Date.now() > deadline) {
        throw new DevstackError(
          `${w.name} did not answer on ${w.endpoint} within ${Math.round(w.timeoutMs / 1000)} s; see ${w.logFile}:\n${logTail(w.logFile)}`,
        );
      }
      await sleep(100);
    }
  } finally {
    w.child?.off('exit', onExit);
    w.child?.off('error', onError);
  }
}
