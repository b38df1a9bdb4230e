/**
 * Set positions (docs/jobs.md#set_positions): replace every position at once. The payload is the
 * whole new map (position → holders); positions left out become vacant.
 *
 * The first step only reads: it records who held what and who was in the exec
 * group, so the later steps and every undo know the "before" state even if a
 * later step crashes and is retried after the directory has changed. Then the
 * `position` attributes are made exactly the new map, the exec group exactly
 * the holders of executive positions, and the new executives are subscribed to
 * the exec list. Nobody is ever unsubscribed from it: people subscribe
 * themselves, and a former executive may well want to stay.
 */
import { z } from 'zod';
import { hasCode, PermanentError, reclassify, TransientError } from '../core/errors';
import { positionNameSchema, uidSchema } from '../core/model/fields';
import { isName, memberAddress } from '../core/model/names';
import {
  byPosition,
  executives,
  assertHoldersMayHold,
  type HoldersByPosition,
  MAX_HOLDERS,
  newExecutives,
  parsePositions,
  positionChanges,
  positionsConfigOf,
  positionsOfUsers,
} from '../core/rules/positions';
import { type JobType, type StepContext, step } from './step';

export const setPositionsPayload = z
  .object({
    /** position → holders; the whole new map. */
    positions: z.record(positionNameSchema, z.array(uidSchema).max(MAX_HOLDERS, `must hold at most ${MAX_HOLDERS} uids`)),
  })
  .strict();

export type SetPositionsPayload = z.infer<typeof setPositionsPayload>;
type Ctx = StepContext<SetPositionsPayload>;

/** The "before" state the first step records. */
type Snapshot = { holders_before: HoldersByPosition; exec_group_before: string[] };

const snapshotOf = (ctx: Ctx): Snapshot => ctx.result(readPositionsStep);

async function readPositions(ctx: Ctx): Promise<{ result: Snapshot }> {
  const { ldap } = ctx.adapters;
  const cfg = positionsConfigOf(ctx.config);
  // The config may have changed since the API checked the request against it: the same check, the same error.
  parsePositions(ctx.payload.positions, cfg);
  const [holders, group] = await Promise.all([ldap.positionHolders(), ldap.getGroup(cfg.exec_group)]);
  if (!group) throw new PermanentError('NOT_FOUND', `no group ${cfg.exec_group} (positions.exec_group)`);
  const snapshot: Snapshot = { holders_before: byPosition(positionsOfUsers(holders)), exec_group_before: [...group.members].sort() };
  return { result: snapshot };
}

/** Makes every People entry's `position` attributes exactly `wanted`. */
async function makePositions(ctx: Ctx, wanted: HoldersByPosition, mustExist: boolean) {
  const { ldap } = ctx.adapters;
  const changes = positionChanges(positionsOfUsers(await ldap.positionHolders()), wanted);
  for (const [uid, positions] of Object.entries(changes)) {
    try {
      await ldap.modifyUser(uid, [{ op: 'replace', attr: 'position', values: positions }]);
    } catch (err) {
      if (!hasCode(err, 'NOT_FOUND')) throw err;
      // Deleted since: a user who is gone holds nothing, which is all a removal wanted.
      if (positions.length === 0 || !mustExist) continue;
      // A new holder deleted between the check and this write. Refusing now, on a
      // first attempt, would tell the runner nothing changed, and the writes
      // already made would stay; a retry fails in its check and is undone.
      throw new TransientError('NOT_FOUND', `${uid} was deleted while positions were being written`, undefined, { cause: err });
    }
  }
  return changes;
}

async function writePositions(ctx: Ctx) {
  // Checked before any write: a holder deleted since the API checked fails the job with nothing changed.
  const users = await ctx.adapters.ldap.getUsers([...new Set(Object.values(ctx.payload.positions).flat())]);
  assertHoldersMayHold(ctx.payload.positions, users);
  return { result: { changed_positions: await makePositions(ctx, ctx.payload.positions, true) } };
}

async function restorePositions(ctx: Ctx) {
  await makePositions(ctx, snapshotOf(ctx).holders_before, false);
}

async function syncExecGroup(ctx: Ctx) {
  const cfg = positionsConfigOf(ctx.config);
  const members = executives(ctx.payload.positions, cfg.executive);
  await ctx.adapters.ldap.changeGroupMembers(cfg.exec_group, { op: 'replace', uids: members });
  return { result: { exec_group: members } };
}

async function restoreExecGroup(ctx: Ctx) {
  const cfg = positionsConfigOf(ctx.config);
  // Only names ceod can write back (docs/directory.md#names): anything else in the group is not ours to restore.
  const before = snapshotOf(ctx).exec_group_before.filter(isName);
  await ctx.adapters.ldap.changeGroupMembers(cfg.exec_group, { op: 'replace', uids: before });
}

async function subscribeNewExecs(ctx: Ctx) {
  const cfg = positionsConfigOf(ctx.config);
  const uids = newExecutives(executives(ctx.payload.positions, cfg.executive), snapshotOf(ctx).exec_group_before);
  for (const uid of uids) {
    try {
      await ctx.adapters.mailman.subscribe(cfg.exec_list, memberAddress(uid, ctx.config.ceod.base_domain));
    } catch (err) {
      if (hasCode(err, 'MAILMAN_NO_SUCH_LIST')) throw reclassify(err, 'MAILMAN_NO_SUCH_LIST', `no mailing list ${cfg.exec_list} (positions.exec_list)`);
      throw err;
    }
  }
  return { result: { subscribed_to_exec_list: uids } };
}

const summary = (p: SetPositionsPayload): string =>
  Object.entries(p.positions)
    .filter(([, uids]) => uids.length > 0)
    .map(([position, uids]) => `${position}: ${uids.join(', ')}`)
    .join('; ') || 'none';

const readPositionsStep = step<SetPositionsPayload, Snapshot>({
  name: 'read_positions',
  role: 'admin',
  title: () => 'read the current position holders and exec group members',
  run: readPositions,
});

export const setPositions: JobType<SetPositionsPayload> = {
  name: 'set_positions',
  payload: setPositionsPayload,
  // One positions change at a time: each replaces the whole map.
  lockKey: () => 'positions',
  steps: [
    readPositionsStep,
    { name: 'write_positions', role: 'admin', title: (p) => `set positions (${summary(p)})`, run: writePositions, undo: restorePositions },
    { name: 'sync_exec_group', role: 'admin', title: () => 'make the exec group exactly the holders of executive positions', run: syncExecGroup, undo: restoreExecGroup },
    // No undo: subscribing is harmless, and unsubscribing could remove someone who had subscribed themself.
    { name: 'subscribe_new_execs', role: 'mail', title: () => 'subscribe new executives to the exec list', run: subscribeNewExecs },
  ],
};
