/** uid/gid number allocation (docs/directory.md#uid-numbers): the lowest number in range used by no uidNumber and no gidNumber. */
import { PermanentError } from '../core/errors';

export function lowestFreeId(used: ReadonlySet<number>, min: number, max: number): number {
  for (let n = min; n <= max; n += 1) if (!used.has(n)) return n;
  throw new PermanentError('UID_RANGE_EXHAUSTED', `no free uid number in ${min}-${max}`);
}

/** What allocation needs of a step's context. */
interface AllocationContext {
  withLock<T>(name: string, work: () => Promise<T>): Promise<T>;
  idFloor: { get(name: string): Promise<number | null>; set(name: string, n: number): Promise<void> };
  adapters: { ldap: { usedIds(min: number, max: number): Promise<Set<number>> } };
}

/**
 * Finds the lowest free number of a pool (`members` or `clubs`) and claims it
 * with `claim(n)` — the LDAP add that makes it used — holding the uid-number
 * lock shared by every host across both, so two allocations never meet.
 * `claim` returns the number the entry ended up with (n, unless it found its
 * own earlier work). The search starts at the pool's floor, falling back to the
 * whole range when a stale floor finds nothing.
 */
export async function allocateId(
  ctx: AllocationContext,
  pool: string,
  range: { min_id: number; max_id: number },
  claim: (n: number) => Promise<number>,
): Promise<number> {
  const { min_id, max_id } = range;
  return ctx.withLock('uid-number', async () => {
    const floor = Math.max(min_id, (await ctx.idFloor.get(pool)) ?? min_id);
    let n: number;
    try {
      n = lowestFreeId(await ctx.adapters.ldap.usedIds(floor, max_id), floor, max_id);
    } catch (err) {
      if (floor === min_id) throw err;
      n = lowestFreeId(await ctx.adapters.ldap.usedIds(min_id, max_id), min_id, max_id);
    }
    const got = await claim(n);
    if (got === n) await ctx.idFloor.set(pool, n + 1);
    return got;
  });
}
