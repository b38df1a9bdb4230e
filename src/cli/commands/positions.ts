/** `ceo positions get|set` (docs/api.md#read-positions, docs/api.md#set-positions). */
import type { Command } from 'commander';
import type { Context } from '../context';
import { CliError, EXIT } from '../errors';
import { readLeaf, group, writeLeaf } from './define';

/** `president=alice1 vice-president=bob1,carol1` → `{president: "alice1", "vice-president": ["bob1", "carol1"]}`. */
export function parseAssignments(args: string[]): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const a of args) {
    const m = /^([^=\s]+)=(.*)$/.exec(a);
    if (!m) throw new CliError(`not position=uid[,uid…]: ${a}`, EXIT.usage);
    const uids = m[2]!.split(',').map((s) => s.trim()).filter(Boolean);
    if (m[1]! in out) throw new CliError(`position ${m[1]} given twice`, EXIT.usage);
    out[m[1]!] = uids.length === 1 ? uids[0]! : uids;
  }
  return out;
}

export function registerPositions(ctx: Context, program: Command): void {
  const positions = group(program, 'positions', 'who holds which club position');

  readLeaf(ctx, positions, 'get', 'show every position and its holders', () => '/api/positions', (b) => {
    const entries = Object.entries(b.positions as Record<string, string[]>);
    const w = Math.max(0, ...entries.map(([p]) => p.length)) + 1;
    return entries.map(([p, uids]) => `${`${p}:`.padEnd(w)} ${uids.length ? uids.join(', ') : '(vacant)'}`);
  });

  writeLeaf(
    ctx,
    positions,
    'set <position=uid[,uid]...>',
    'replace every position at once: positions not given become vacant (e.g. ceo positions set president=alice1 vice-president=bob1)',
    (args) => ({ method: 'POST', path: '/api/positions', body: parseAssignments((args[0] as unknown as string[]) ?? []) }),
  );
}
