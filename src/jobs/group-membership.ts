/**
 * Add a member to a group, or remove one (docs/jobs.md#add_group_member): the group itself, the
 * auxiliary groups config maps it to (admin), and its auxiliary lists (mail).
 *
 * Both jobs begin with a read-only snapshot of the user's groups. The writes
 * that follow are ensures, and their undo reverses only what the snapshot says
 * was not already so: a step retried after a crash cannot tell its own earlier
 * work from the state it started with, the snapshot can.
 */
import { z } from 'zod';
import { PermanentError } from '../core/errors';
import { groupNameSchema, uidSchema } from '../core/model/fields';
import { memberAddress } from '../core/model/names';
import { whatLeavingTakes } from '../core/rules/groups';
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

/** What the snapshot step records: the user's groups before this job, and what leaving the group would take. */
type Snapshot = { groups: string[]; leaves_groups: string[]; leaves_lists: string[] };

/** The groups the user was in before this job, from the snapshot step. */
const groupsBefore = (ctx: Ctx): string[] => ctx.result(readMembershipsStep).groups;

async function readMemberships(ctx: Ctx): Promise<{ result: Snapshot }> {
  const { ldap } = ctx.adapters;
  const { cn, uid } = ctx.payload;
  const [user, group, groups] = await Promise.all([ldap.getUser(uid), ldap.getGroup(cn), ldap.groupsOf(uid)]);
  if (!user) throw new PermanentError('NOT_FOUND', `no member ${uid}`, 'uid');
  if (!group) throw new PermanentError('NOT_FOUND', `no group ${cn}`, 'cn');
  const leaving = whatLeavingTakes(ctx.config, cn, groups);
  return { result: { groups, leaves_groups: leaving.groups, leaves_lists: leaving.lists } };
}

/** The read-only first step of both jobs: its result is what every undo reverts to. */
const readMembershipsStep = step<GroupMembershipPayload, Snapshot>({
  name: 'read_memberships',
  role: 'admin',
  title: (p) => `look up the groups of ${p.uid}`,
  run: readMemberships,
});

// --- add

const auxGroups = (ctx: Ctx) => (ctx.config.auxiliary_groups[ctx.payload.cn] ?? []).filter((g) => g !== ctx.payload.cn);
const auxLists = (ctx: Ctx) => ctx.config.auxiliary_lists[ctx.payload.cn] ?? [];

async function addToGroup(ctx: Ctx) {
  await ctx.adapters.ldap.changeGroupMembers(ctx.payload.cn, { op: 'add', uids: [ctx.payload.uid] });
}

async function undoAddToGroup(ctx: Ctx) {
  if (!groupsBefore(ctx).includes(ctx.payload.cn)) await ctx.adapters.ldap.changeGroupMembers(ctx.payload.cn, { op: 'delete', uids: [ctx.payload.uid] });
}

async function addToAuxGroups(ctx: Ctx) {
  for (const g of auxGroups(ctx)) await ctx.adapters.ldap.changeGroupMembers(g, { op: 'add', uids: [ctx.payload.uid] });
  return { result: { groups: auxGroups(ctx) } };
}

async function undoAddToAuxGroups(ctx: Ctx) {
  const before = groupsBefore(ctx);
  for (const g of auxGroups(ctx).filter((x) => !before.includes(x))) {
    await ctx.adapters.ldap.changeGroupMembers(g, { op: 'delete', uids: [ctx.payload.uid] });
  }
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

const leaves = (ctx: Ctx, what: 'leaves_groups' | 'leaves_lists'): string[] => ctx.result(readMembershipsStep)[what];

async function removeFromGroup(ctx: Ctx) {
  await ctx.adapters.ldap.changeGroupMembers(ctx.payload.cn, { op: 'delete', uids: [ctx.payload.uid] });
}

async function undoRemoveFromGroup(ctx: Ctx) {
  if (groupsBefore(ctx).includes(ctx.payload.cn)) await ctx.adapters.ldap.changeGroupMembers(ctx.payload.cn, { op: 'add', uids: [ctx.payload.uid] });
}

async function removeFromAuxGroups(ctx: Ctx) {
  for (const g of leaves(ctx, 'leaves_groups')) await ctx.adapters.ldap.changeGroupMembers(g, { op: 'delete', uids: [ctx.payload.uid] });
  return { result: { groups: leaves(ctx, 'leaves_groups') } };
}

async function undoRemoveFromAuxGroups(ctx: Ctx) {
  const before = groupsBefore(ctx);
  for (const g of leaves(ctx, 'leaves_groups').filter((x) => before.includes(x))) {
    await ctx.adapters.ldap.changeGroupMembers(g, { op: 'add', uids: [ctx.payload.uid] });
  }
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
      title: (p) => `remove ${p.uid} from the auxiliary groups of ${p.cn} that no other group of theirs implies`,
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
