/** uid/gid number allocation (SPEC §2): the lowest number in range used by no uidNumber and no gidNumber. */
import { PermanentError } from '../errors';

export function lowestFreeId(used: ReadonlySet<number>, min: number, max: number): number {
  for (let n = min; n <= max; n += 1) if (!used.has(n)) return n;
  throw new PermanentError('UID_RANGE_EXHAUSTED', `no free uid number in ${min}-${max}`);
}
