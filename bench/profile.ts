/**
 * Reads the V8 CPU profiles `--cpu-prof` wrote into a directory (one per ceod
 * process; `pids.json` names them) and lists, per process, the functions with
 * the most self time: where each process's CPU goes. Writes DIR/summary.json.
 *
 *   node dist-bench/bench/profile.js DIR     (the bench runs it after --cpu-prof)
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { REPO_ROOT } from '../tools/devstack/layout';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

interface Profile {
  nodes: Node[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface TopFunction {
  fn: string;
  self_ms: number;
  share: number;
}

/** Where a function lives, short: `bullmq/…/worker.js:120`, `src/workers/runner.ts`, `(native)`. */
function where(url: string, line: number): string {
  if (!url) return '';
  const path = url.replace(/^file:\/\//, '');
  const nm = path.lastIndexOf('node_modules/');
  if (nm >= 0) return `${path.slice(nm + 13)}:${line + 1}`;
  if (path.startsWith('node:')) return path;
  return `${relative(REPO_ROOT, path)}:${line + 1}`;
}

const name = (cf: Node['callFrame']) => `${cf.functionName || '(anonymous)'} ${where(cf.url, cf.lineNumber)}`.trim();
/** Node's own code and native functions say little alone: they are named with their nearest caller in a package or in ours. */
const isOwnCode = (url: string) => url !== '' && !url.startsWith('node:');

/** The functions with the most self time; a native or Node-internal one is named `fn ← its nearest caller of ours or a package's`. */
export function topFunctions(p: Profile, n = 25): TopFunction[] {
  const byNode = new Map<number, Node>(p.nodes.map((x) => [x.id, x]));
  const parent = new Map<number, number>();
  for (const x of p.nodes) for (const c of x.children ?? []) parent.set(c, x.id);
  const label = new Map<number, string>();
  const labelOf = (node: Node): string => {
    let l = label.get(node.id);
    if (l !== undefined) return l;
    l = name(node.callFrame);
    if (!isOwnCode(node.callFrame.url)) {
      for (let up = parent.get(node.id); up !== undefined; up = parent.get(up)) {
        const cf = byNode.get(up)!.callFrame;
        if (isOwnCode(cf.url)) {
          l = `${l} ← ${name(cf)}`;
          break;
        }
      }
    }
    label.set(node.id, l);
    return l;
  };
  const self = new Map<string, number>();
  let total = 0;
  p.samples.forEach((id, i) => {
    const node = byNode.get(id);
    const dt = (p.timeDeltas[i] ?? 0) / 1000;
    if (!node) return;
    const cf = node.callFrame;
    if (cf.functionName === '(idle)' || cf.functionName === '(program)') return;
    const key = labelOf(node);
    self.set(key, (self.get(key) ?? 0) + dt);
    total += dt;
  });
  return [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([fn, ms]) => ({ fn, self_ms: Math.round(ms), share: Math.round((ms / Math.max(1, total)) * 1000) / 1000 }));
}

/** Per process (by pids.json, else by file name): the top functions, and the profile's busy ms. */
export function summarizeProfiles(dir: string, n = 25): Record<string, TopFunction[]> {
  let names: Record<string, string> = {};
  try {
    names = JSON.parse(readFileSync(join(dir, 'pids.json'), 'utf8')) as Record<string, string>;
  } catch {
    // no names: the file names stand in
  }
  const out: Record<string, TopFunction[]> = {};
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.cpuprofile')).sort()) {
    const pid = /^CPU\.\d+\.\d+\.(\d+)\./.exec(f)?.[1];
    const name = (pid && names[pid]) || basename(f, '.cpuprofile');
    const p = JSON.parse(readFileSync(join(dir, f), 'utf8')) as Profile;
    out[out[name] ? `${name} (${pid})` : name] = topFunctions(p, n);
  }
  writeFileSync(join(dir, 'summary.json'), `${JSON.stringify(out, null, 2)}\n`);
  return out;
}

if (require.main === module) {
  const dir = process.argv[2];
  if (!dir) {
    process.stderr.write('usage: node dist-bench/bench/profile.js DIR\n');
    process.exit(2);
  }
  for (const [proc, top] of Object.entries(summarizeProfiles(dir))) {
    process.stdout.write(`\n${proc}\n`);
    for (const f of top) process.stdout.write(`  ${String(f.self_ms).padStart(7)} ms  ${(f.share * 100).toFixed(1).padStart(5)}%  ${f.fn}\n`);
  }
}
