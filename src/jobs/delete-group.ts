/**
 * Delete a club (docs/jobs.md#delete_group): its sudo role (admin), the club
 * account's MySQL and PostgreSQL databases and users (db), its club user and
 * group (admin), then its home directory (fs). Every step is delete-if-present,
 * so a half-deleted club is finished by submitting the job again; nothing is
 * undone.
 *
 * The first step notes the club's number, so the home directory is removed
 * only while the club user still owns it: a directory of that name owned by
 * anyone else is left in place and reported. It also refuses a member's
 * account of that name before anything is dropped, so the databases dropped
 * are only ever a club's.
 */
import { z } from 'zod';
import { PermanentError } from '../core/errors';
import { uidSchema } from '../core/model/fields';
import { isClubAccount } from '../core/model/user';
import { dropDatabaseSteps } from './drop-databases';
import { type JobType, type StepContext, step } from './step';

export const deleteGroupPayload = z.object({ cn: uidSchema }).strict();
export type DeleteGroupPayload = z.infer<typeof deleteGroupPayload>;
type Ctx = StepContext<DeleteGroupPayload>;

async function removeSudoRole(ctx: Ctx): Promise<{ result: { number: number | null; sudo_role_removed: boolean } }> {
  const { ldap } = ctx.adapters;
  const { cn } = ctx.payload;
  const [group, user] = await Promise.all([ldap.getGroup(cn), ldap.getUser(cn)]);
  // A member's personal group is not a club: the API refuses it; this is the backstop.
  if (user && !isClubAccount(user)) throw new PermanentError('CONFLICT', `${cn} is a member, not a club`, 'cn');
  const number = user?.uidNumber ?? group?.gidNumber ?? null;
  return { result: { number, sudo_role_removed: await ldap.deleteSudoRole(cn) } };
}

async function removeClubUser(ctx: Ctx) {
  const { ldap } = ctx.adapters;
  const user = await ldap.getUser(ctx.payload.cn);
  if (user && !isClubAccount(user)) throw new PermanentError('CONFLICT', `${ctx.payload.cn} is a member, not a club`, 'cn');
  return { result: { user_removed: user ? await ldap.deleteUser(ctx.payload.cn) : false } };
}

async function removeGroup(ctx: Ctx) {
  const { ldap } = ctx.adapters;
  const group = await ldap.getGroup(ctx.payload.cn);
  const removed = group ? await ldap.deleteGroup(ctx.payload.cn) : false;
  if (group) await ctx.idFloor.lower('clubs', group.gidNumber);
  return { result: { group_removed: removed } };
}

async function deleteClubHome(ctx: Ctx) {
  const { number } = ctx.result(removeSudoRoleStep);
  // No user and no group: nothing says whose a directory of that name is, so it stays.
  if (number === null) {
    return { result: { home_removed: false }, warning: `the club user and group were already gone: ${ctx.config.clubs.home_root}/${ctx.payload.cn}, if any, is left in place` };
  }
  const removed = await ctx.adapters.homeDirs.remove(ctx.config.clubs.home_root, ctx.payload.cn, { owner: number });
  return { result: { home_removed: removed } };
}

/** The first step also notes the club's number, for the home directory's owner check. */
const removeSudoRoleStep = step<DeleteGroupPayload, { number: number | null; sudo_role_removed: boolean }>({
  name: 'remove_sudo_role',
  role: 'admin',
  title: (p) => `remove sudo role %${p.cn}`,
  run: removeSudoRole,
});

export const deleteGroup: JobType<DeleteGroupPayload> = {
  name: 'delete_group',
  payload: deleteGroupPayload,
  lockKey: (p) => `member:${p.cn}`,
  steps: [
    removeSudoRoleStep,
    // After the member check above, before the club user goes (a database is named after its account).
    ...dropDatabaseSteps<DeleteGroupPayload>((p) => p.cn),
    { name: 'remove_club_user', role: 'admin', title: (p) => `remove club user uid=${p.cn}`, run: removeClubUser },
    { name: 'remove_group', role: 'admin', title: (p) => `remove group ${p.cn}`, run: removeGroup },
    { name: 'delete_club_home', role: 'fs', title: (p) => `delete the home directory of ${p.cn}`, run: deleteClubHome },
  ],
};
