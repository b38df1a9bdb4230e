/**
 * CPU accounting for the benchmarks (Linux /proc): CPU time used by each named
 * process tree (ceod's processes, the stack's servers, the bench client), and
 * how busy the whole machine was — which says whether a plateau is a backend's
 * own limit or the machine's two cores running out.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const TICK_MS = 10; // USER_HZ is 100 on Linux

interface ProcStat {
  pid: number;
  ppid: number;
  ticks: number;
}

function readStat(pid: string): ProcStat | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name is in parentheses and may hold spaces: parse after the last ')'.
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // Fields from 3 (state): ppid is 4, utime 14, stime 15, cutime 16, cstime 17.
    return { pid: Number(pid), ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]) };
  } catch {
    return null; // exited meanwhile
  }
}

/** The pids in the stack's run directory (`<name>.pid`), by service name. */
export function stackPids(runDir: string): Record<string, number> {
  const out: Record<string, number> = {};
  try {
    for (const f of readdirSync(runDir)) {
      if (!f.endsWith('.pid')) continue;
      const pid = Number(readFileSync(join(runDir, f), 'utf8').trim());
      if (pid > 0) out[f.slice(0, -4)] = pid;
    }
  } catch {
    // no run dir: nothing to count
  }
  return out;
}

export interface CpuSnapshot {
  /** CPU ms per root name, each process counted once, under its nearest named ancestor. */
  byRoot: Record<string, number>;
  machineBusyTicks: number;
  machineTotalTicks: number;
}

export function cpuSnapshot(roots: Record<string, number>): CpuSnapshot {
  const stats = new Map<number, ProcStat>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const s = readStat(d);
    if (s) stats.set(s.pid, s);
  }
  const nameOf = new Map<number, string>(Object.entries(roots).map(([name, pid]) => [pid, name]));
  const byRoot: Record<string, number> = Object.fromEntries(Object.keys(roots).map((k) => [k, 0]));
  for (const s of stats.values()) {
    let p: ProcStat | undefined = s;
    for (let hops = 0; p && hops < 64; hops++) {
      const name = nameOf.get(p.pid);
      if (name) {
        byRoot[name]! += s.ticks * TICK_MS;
        break;
      }
      p = stats.get(p.ppid);
    }
  }
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = cpu.reduce((a, b) => a + b, 0);
  const idle = cpu[3]! + cpu[4]!;
  return { byRoot, machineBusyTicks: total - idle, machineTotalTicks: total };
}

export interface CpuUse {
  /** CPU ms per finished unit (e.g. per created member), by process tree, largest first. */
  msPerUnit: Record<string, number>;
  /** Share of the machine's CPU time that was busy (all processes, other users' too). */
  machineBusy: number;
}

export function cpuBetween(a: CpuSnapshot, b: CpuSnapshot, units: number): CpuUse {
  const msPerUnit = Object.fromEntries(
    Object.keys(b.byRoot)
      .map((k) => [k, Math.round(((b.byRoot[k]! - (a.byRoot[k] ?? 0)) / Math.max(1, units)) * 10) / 10] as const)
      .sort((x, y) => y[1] - x[1]),
  );
  const busy = (b.machineBusyTicks - a.machineBusyTicks) / Math.max(1, b.machineTotalTicks - a.machineTotalTicks);
  return { msPerUnit, machineBusy: Math.round(busy * 100) / 100 };
}
