/**
 * Delete a member (docs/jobs.md#delete_member): unsubscribe from all lists (mail), delete the home
 * directory (fs), the member's MySQL and PostgreSQL databases and users (db), the principal, the personal group, the user's memberships of
 * other groups (so no group names a user who is gone) and the user (admin).
 * Every step is delete-if-present, so a half-existing account (principal
 * removed by hand, home already gone) is cleaned up without error, and a
 * failed job can simply be submitted again. Nothing is undone: a deletion
 * cannot be compensated, only finished.
 */
import { z } from 'zod';
import { uidSchema } from '../core/model/fields';
import { memberAddress } from '../core/model/names';
import { dropDatabaseSteps } from './drop-databases';
import type { JobType, StepContext } from './step';

export const deleteMemberPayload = z.object({ uid: uidSchema }).strict();
export type DeleteMemberPayload = z.infer<typeof deleteMemberPayload>;
type Ctx = StepContext<DeleteMemberPayload>;

async function unsubscribeAll(ctx: Ctx) {
  const address = memberAddress(ctx.payload.uid, ctx.config.ceod.base_domain);
  const lists = await ctx.adapters.mailman.subscriptions(address);
  for (const list of lists) await ctx.adapters.mailman.unsubscribe(list, address);
  return { result: { unsubscribed_from: lists } };
}

async function deleteHome(ctx: Ctx) {
  const removed = await ctx.adapters.homeDirs.remove(ctx.config.members.home_root, ctx.payload.uid);
  return { result: { home_removed: removed } };
}

async function deletePrincipal(ctx: Ctx) {
  return { result: { principal_removed: await ctx.adapters.kadmin.deletePrincipal(ctx.payload.uid) } };
}

async function deletePersonalGroup(ctx: Ctx) {
  const { ldap } = ctx.adapters;
  const [user, group] = await Promise.all([ldap.getUser(ctx.payload.uid), ldap.getGroup(ctx.payload.uid)]);
  // A group of that name is the personal group (uids never take a group's name),
  // unless the user still exists with another number: then it is not ours to delete.
  if (!group || (user && group.gidNumber !== user.uidNumber)) return { result: { group_removed: false } };
  return { result: { group_removed: await ldap.deleteGroup(ctx.payload.uid) } };
}

async function leaveGroups(ctx: Ctx) {
  const { ldap } = ctx.adapters;
  const groups = (await ldap.groupsOf(ctx.payload.uid)).filter((g) => g !== ctx.payload.uid);
  for (const g of groups) await ldap.changeGroupMembers(g, { op: 'delete', uids: [ctx.payload.uid] });
  return { result: { left_groups: groups } };
}

async function deleteUser(ctx: Ctx) {
  const user = await ctx.adapters.ldap.getUser(ctx.payload.uid);
  const removed = await ctx.adapters.ldap.deleteUser(ctx.payload.uid);
  // Its number is free again: let the allocator find it.
  if (user) await ctx.idFloor.lower('members', user.uidNumber);
  await ctx.revokeSessions([ctx.payload.uid]);
  return { result: { user_removed: removed } };
}

export const deleteMember: JobType<DeleteMemberPayload> = {
  name: 'delete_member',
  payload: deleteMemberPayload,
  lockKey: (p) => `member:${p.uid}`,
  steps: [
    { name: 'unsubscribe_all', role: 'mail', title: (p) => `unsubscribe ${p.uid} from every list`, run: unsubscribeAll },
    { name: 'delete_home', role: 'fs', title: (p) => `delete the home directory of ${p.uid}`, run: deleteHome },
    ...dropDatabaseSteps<DeleteMemberPayload>((p) => p.uid),
    { name: 'delete_principal', role: 'admin', title: (p) => `delete Kerberos principal ${p.uid}`, run: deletePrincipal },
    { name: 'delete_personal_group', role: 'admin', title: (p) => `delete group ${p.uid}`, run: deletePersonalGroup },
    { name: 'leave_groups', role: 'admin', title: (p) => `remove ${p.uid} from every group`, run: leaveGroups },
    { name: 'delete_user', role: 'admin', title: (p) => `delete uid=${p.uid} from LDAP`, run: deleteUser },
  ],
};
