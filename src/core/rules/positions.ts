/**
 * Positions (docs/jobs.md#set_positions, docs/config.md#positions): who holds which, read from and written to the
 * `position` attributes of People entries. Pure functions, so the API's
 * validation, the `set_positions` job and the unit tests agree on one rule.
 *
 * Two shapes of the same thing: *by position* (`{ president: ['alice1'] }`,
 * what the API speaks) and *by user* (`{ alice1: ['president'] }`, what LDAP
 * stores). Both keep their lists sorted and free of duplicates.
 */
import { PermanentError } from '../errors';
import { uidSchema } from '../model/fields';
import { ruleViolation } from './violation';

/** position → holders (uids), sorted. */
export type HoldersByPosition = Record<string, string[]>;
/** uid → positions held, sorted. */
export type PositionsByUser = Record<string, string[]>;

/** The `[positions]` config section, as far as validation needs it. */
export interface PositionsConfig {
  available: readonly string[];
  required: readonly string[];
  executive: readonly string[];
}

/** Most holders one position may have: a guard against a runaway body, not a club rule. */
export const MAX_HOLDERS = 50;

const sorted = (xs: Iterable<string>): string[] => [...new Set(xs)].sort();

/** Inverts by-position into by-user (users holding nothing are absent). */
export function byUser(holders: HoldersByPosition): PositionsByUser {
  const out: Record<string, Set<string>> = {};
  for (const [position, uids] of Object.entries(holders)) for (const uid of uids) (out[uid] ??= new Set()).add(position);
  return Object.fromEntries(Object.entries(out).map(([uid, ps]) => [uid, sorted(ps)]));
}

/** Inverts by-user into by-position (positions nobody holds are absent). */
export function byPosition(positions: PositionsByUser): HoldersByPosition {
  const out: Record<string, Set<string>> = {};
  for (const [uid, ps] of Object.entries(positions)) for (const p of ps) (out[p] ??= new Set()).add(uid);
  return Object.fromEntries(Object.entries(out).map(([p, uids]) => [p, sorted(uids)]));
}

/** From directory entries: who holds what. */
export function positionsOfUsers(users: readonly { uid: string; positions: readonly string[] }[]): PositionsByUser {
  const out: PositionsByUser = {};
  for (const u of users) if (u.positions.length > 0) out[u.uid] = sorted(u.positions);
  return out;
}

/**
 * What `GET /api/positions` shows: every available position (vacant ones with
 * no holders), in config order, then any other position the directory holds,
 * so nothing is hidden.
 */
export function positionsView(available: readonly string[], held: HoldersByPosition): HoldersByPosition {
  const out: HoldersByPosition = {};
  for (const p of available) out[p] = held[p] ?? [];
  for (const p of Object.keys(held).sort()) out[p] ??= held[p]!;
  return out;
}

/**
 * The changes that make the directory hold exactly `wanted`: for every user
 * whose positions differ, the full list they must hold (empty: none).
 * `current` is by user, as read from the directory.
 */
export function positionChanges(current: PositionsByUser, wanted: HoldersByPosition): PositionsByUser {
  const want = byUser(wanted);
  const changes: PositionsByUser = {};
  for (const uid of sorted([...Object.keys(current), ...Object.keys(want)])) {
    const now = sorted(current[uid] ?? []);
    const next = want[uid] ?? [];
    if (now.length !== next.length || now.some((p, i) => p !== next[i])) changes[uid] = next;
  }
  return changes;
}

/** Holders of executive positions: exactly who the exec group must hold. */
export function executives(holders: HoldersByPosition, executive: readonly string[]): string[] {
  return sorted(executive.flatMap((p) => holders[p] ?? []));
}

/** Executives who were not in the exec group before: the ones to subscribe to the exec list. */
export function newExecutives(execsNow: readonly string[], execGroupBefore: readonly string[]): string[] {
  const before = new Set(execGroupBefore);
  return sorted(execsNow.filter((u) => !before.has(u)));
}

const bad = ruleViolation;

/**
 * Checks a `POST /api/positions` body against the config, without I/O:
 * a JSON object of position → uid or list of uids; every position available,
 * every required one held, every holder a valid uid, none listed twice.
 * Returns it by position, each list sorted; positions left out are vacant.
 * Throws a 400 naming the field (the position, or `position.<index>`).
 */
export function parsePositions(body: unknown, config: PositionsConfig): HoldersByPosition {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw ruleViolation('body', 'must be a JSON object of position → uid or list of uids');
  }
  const out: HoldersByPosition = {};
  for (const [position, value] of Object.entries(body)) {
    if (!config.available.includes(position)) throw bad(position, `not a position; available: ${config.available.join(', ')}`);
    const list = typeof value === 'string' ? [value] : value;
    if (!Array.isArray(list)) throw bad(position, 'must be a uid or a list of uids');
    if (list.length > MAX_HOLDERS) throw bad(position, `must hold at most ${MAX_HOLDERS} uids`);
    const seen = new Set<string>();
    list.forEach((uid: unknown, i) => {
      const field = typeof value === 'string' ? position : `${position}.${i}`;
      const r = uidSchema.safeParse(uid);
      if (!r.success) throw bad(field, r.error.issues[0]!.message);
      if (seen.has(r.data)) throw bad(field, `${r.data} is listed twice`);
      seen.add(r.data);
    });
    out[position] = sorted(seen);
  }
  for (const position of config.required) {
    if (!out[position]?.length) throw bad(position, 'is required (must have a holder)');
  }
  return out;
}

/** The `[positions]` section, or a 404 saying it is missing: without it there are no positions to set. */
export function positionsConfigOf<C extends PositionsConfig>(config: { positions?: C }): C {
  if (!config.positions) throw new PermanentError('NOT_FOUND', 'positions are not configured on this host (no [positions] section in its config)');
  return config.positions;
}

/**
 * The first holder who cannot hold a position: one with no People entry, or
 * one whose entry lacks the `member` class (a club account). `users` are the
 * entries found for the holders. Null when every holder may hold.
 */
export function holderProblem(
  holders: HoldersByPosition,
  users: readonly { uid: string; objectClasses: readonly string[] }[],
): { position: string; uid: string; message: string } | null {
  const found = new Map(users.map((u) => [u.uid, u]));
  for (const [position, uids] of Object.entries(holders)) {
    for (const uid of uids) {
      const user = found.get(uid);
      if (!user) return { position, uid, message: `no member ${uid}` };
      if (!user.objectClasses.some((c) => c.toLowerCase() === 'member')) return { position, uid, message: `${uid} is not a member` };
    }
  }
  return null;
}

/** Refuses holders who cannot hold a position (see `holderProblem`), naming the position. */
export function assertHoldersMayHold(holders: HoldersByPosition, users: readonly { uid: string; objectClasses: readonly string[] }[]): void {
  const problem = holderProblem(holders, users);
  if (problem) throw ruleViolation(problem.position, problem.message);
}
