/**
 * Add a member to a group, or remove one (docs/jobs.md#add_group_member): the group itself, the
 * auxiliary groups config maps it to (admin), and its auxiliary lists (mail).
 *
 * Both jobs begin with a read-only snapshot of the user's groups and of the
 * `impliedMembership` markers on their entry, which record the auxiliary
 * memberships ceod added because of a group (`office:syscom`). Leaving a group
 * takes only memberships it added and nothing else holds: a direct membership
 * (made by hand, or through the API) is never ceod's to end. The writes that
 * follow are ensures, and their undo reverses only what the snapshot says was
 * not already so: a step retried after a crash cannot tell its own earlier
 * work from the state it started with, the snapshot can.
 */
import { z } from 'zod';
import { PermanentError } from '../core/errors';
import { groupNameSchema, uidSchema } from '../core/model/fields';
import { memberAddress } from '../core/model/names';
import { whatJoiningAdds, whatLeavingTakes } from '../core/rules/groups';
import { type JobType, type StepContext, step } from './step';

export const groupMembershipPayload = z
  .object({
    cn: groupNameSchema,
    uid: uidSchema,
    /** Subscribe to (or unsubscribe from) the group's auxiliary lists too. */
    lists: z.boolean({ error: 'must be true or false' }).default(true),
  })
  .strict();
export type GroupMembershipPayload = z.infer<typeof groupMembershipPayload>;
type Ctx = StepContext<GroupMembershipPayload>;

const address = (ctx: Ctx) => memberAddress(ctx.payload.uid, ctx.config.ceod.base_domain);

/**
 * What the snapshot step records: the user's groups and `impliedMembership`
 * markers before this job, what joining adds (groups and markers) and what
 * leaving takes (groups, markers, lists). Every later step and undo works
 * from it, never from a re-read (docs/jobs.md#snapshot-steps).
 */
type Snapshot = {
  groups: string[];
  markers: string[];
  adds_groups: string[];
  adds_markers: string[];
  leaves_groups: string[];
  leaves_markers: string[];
  leaves_lists: string[];
};

const snapshot = (ctx: Ctx): Snapshot => ctx.result(readMembershipsStep);
/** The groups the user was in before this job, from the snapshot step. */
const groupsBefore = (ctx: Ctx): string[] => snapshot(ctx).groups;

async function readMemberships(ctx: Ctx): Promise<{ result: Snapshot }> {
  const { ldap } = ctx.adapters;
  const { cn, uid } = ctx.payload;
  const [user, group, groups] = await Promise.all([ldap.getUser(uid), ldap.getGroup(cn), ldap.groupsOf(uid)]);
  if (!user) throw new PermanentError('NOT_FOUND', `no member ${uid}`, 'uid');
  if (!group) throw new PermanentError('NOT_FOUND', `no group ${cn}`, 'cn');
  const markers = user.impliedMemberships;
  const joining = whatJoiningAdds(ctx.config, cn, groups, markers);
  const leaving = whatLeavingTakes(ctx.config, cn, groups, markers);
  return {
    result: {
      groups,
      markers,
      adds_groups: joining.groups,
      adds_markers: joining.markers,
      leaves_groups: leaving.groups,
      leaves_markers: leaving.markers,
      leaves_lists: leaving.lists,
    },
  };
}

/** Adds or deletes `impliedMembership` markers on the user's entry (ensures: an add of one there, a delete of one gone, is no error). */
async function changeMarkers(ctx: Ctx, op: 'add' | 'delete', markers: string[]): Promise<void> {
  if (markers.length > 0) await ctx.adapters.ldap.modifyUser(ctx.payload.uid, [{ op, attr: 'impliedMembership', values: markers }]);
}

/** The read-only first step of both jobs: its result is what every undo reverts to. */
const readMembershipsStep = step<GroupMembershipPayload, Snapshot>({
  name: 'read_memberships',
  role: 'admin',
  title: (p) => `look up the groups of ${p.uid}`,
  run: readMemberships,
});

// --- add

const auxLists = (ctx: Ctx) => ctx.config.auxiliary_lists[ctx.payload.cn] ?? [];

/** Markers saying the user is in `cn` only because of another group: a direct add makes the membership theirs. */
const impliedMarkersOf = (ctx: Ctx): string[] => (snapshot(ctx).markers ?? []).filter((m) => m.startsWith(`${ctx.payload.cn}:`));

async function addToGroup(ctx: Ctx) {
  await ctx.adapters.ldap.changeGroupMembers(ctx.payload.cn, { op: 'add', uids: [ctx.payload.uid] });
  // Added directly: leaving the group that implied it must no longer take it.
  await changeMarkers(ctx, 'delete', impliedMarkersOf(ctx));
}

async function undoAddToGroup(ctx: Ctx) {
  await changeMarkers(ctx, 'add', impliedMarkersOf(ctx));
  if (!groupsBefore(ctx).includes(ctx.payload.cn)) await ctx.adapters.ldap.changeGroupMembers(ctx.payload.cn, { op: 'delete', uids: [ctx.payload.uid] });
}

/** Joins the auxiliary groups the user was not in, and records (markers) which memberships this group implies. */
async function addToAuxGroups(ctx: Ctx) {
  const { adds_groups: groups = [], adds_markers: markers = [] } = snapshot(ctx);
  // Markers first: if they are refused (a directory without the schema), no membership was changed yet.
  await changeMarkers(ctx, 'add', markers);
  for (const g of groups) await ctx.adapters.ldap.changeGroupMembers(g, { op: 'add', uids: [ctx.payload.uid] });
  return { result: { groups, implied: markers } };
}

async function undoAddToAuxGroups(ctx: Ctx) {
  const { adds_groups: groups = [], adds_markers: markers = [] } = snapshot(ctx);
  await changeMarkers(ctx, 'delete', markers);
  for (const g of groups) await ctx.adapters.ldap.changeGroupMembers(g, { op: 'delete', uids: [ctx.payload.uid] });
}

async function subscribeAuxLists(ctx: Ctx) {
  if (!ctx.payload.lists) return { result: { lists: [] } };
  for (const list of auxLists(ctx)) await ctx.adapters.mailman.subscribe(list, address(ctx));
  return { result: { lists: auxLists(ctx) } };
}

export const addGroupMember: JobType<GroupMembershipPayload> = {
  name: 'add_group_member',
  payload: groupMembershipPayload,
  lockKey: (p) => `membership:${p.uid}`,
  steps: [
    readMembershipsStep,
    { name: 'add_to_group', role: 'admin', title: (p) => `add ${p.uid} to group ${p.cn}`, run: addToGroup, undo: undoAddToGroup },
    { name: 'add_to_auxiliary_groups', role: 'admin', title: (p) => `add ${p.uid} to the auxiliary groups of ${p.cn}`, run: addToAuxGroups, undo: undoAddToAuxGroups },
    {
      name: 'subscribe_to_auxiliary_lists',
      role: 'mail',
      title: (p) => (p.lists ? `subscribe ${p.uid} to the lists of ${p.cn}` : `leave the list subscriptions of ${p.uid} as they are`),
      run: subscribeAuxLists,
    },
  ],
};

// --- remove

const leaves = (ctx: Ctx, what: 'leaves_groups' | 'leaves_lists'): string[] => snapshot(ctx)[what] ?? [];

async function removeFromGroup(ctx: Ctx) {
  await ctx.adapters.ldap.changeGroupMembers(ctx.payload.cn, { op: 'delete', uids: [ctx.payload.uid] });
  // Leaving a staff group ends the sessions that carried its powers.
  if (ctx.config.ceod.protected_groups.includes(ctx.payload.cn)) await ctx.revokeSessions([ctx.payload.uid]);
}

async function undoRemoveFromGroup(ctx: Ctx) {
  if (groupsBefore(ctx).includes(ctx.payload.cn)) await ctx.adapters.ldap.changeGroupMembers(ctx.payload.cn, { op: 'add', uids: [ctx.payload.uid] });
}

/** Leaves only the auxiliary groups this group implied and nothing else holds; drops this group's markers. */
async function removeFromAuxGroups(ctx: Ctx) {
  const groups = leaves(ctx, 'leaves_groups');
  for (const g of groups) await ctx.adapters.ldap.changeGroupMembers(g, { op: 'delete', uids: [ctx.payload.uid] });
  await changeMarkers(ctx, 'delete', snapshot(ctx).leaves_markers ?? []);
  return { result: { groups } };
}

async function undoRemoveFromAuxGroups(ctx: Ctx) {
  const before = groupsBefore(ctx);
  for (const g of leaves(ctx, 'leaves_groups').filter((x) => before.includes(x))) {
    await ctx.adapters.ldap.changeGroupMembers(g, { op: 'add', uids: [ctx.payload.uid] });
  }
  const markersBefore = snapshot(ctx).markers ?? [];
  await changeMarkers(ctx, 'add', (snapshot(ctx).leaves_markers ?? []).filter((m) => markersBefore.includes(m)));
}

async function unsubscribeAuxLists(ctx: Ctx) {
  if (!ctx.payload.lists) return { result: { lists: [] } };
  const lists = leaves(ctx, 'leaves_lists');
  for (const list of lists) await ctx.adapters.mailman.unsubscribe(list, address(ctx));
  return { result: { lists } };
}

export const removeGroupMember: JobType<GroupMembershipPayload> = {
  name: 'remove_group_member',
  payload: groupMembershipPayload,
  lockKey: (p) => `membership:${p.uid}`,
  steps: [
    readMembershipsStep,
    { name: 'remove_from_group', role: 'admin', title: (p) => `remove ${p.uid} from group ${p.cn}`, run: removeFromGroup, undo: undoRemoveFromGroup },
    {
      name: 'remove_from_auxiliary_groups',
      role: 'admin',
      title: (p) => `remove ${p.uid} from the auxiliary groups that joining ${p.cn} added and nothing else holds`,
      run: removeFromAuxGroups,
      undo: undoRemoveFromAuxGroups,
    },
    {
      name: 'unsubscribe_from_auxiliary_lists',
      role: 'mail',
      title: (p) => (p.lists ? `unsubscribe ${p.uid} from the lists of ${p.cn} that no other group of theirs implies` : `leave the list subscriptions of ${p.uid} as they are`),
      run: unsubscribeAuxLists,
    },
  ],
};
