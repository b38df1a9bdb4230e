/**
 * Create a club (docs/jobs.md#create_group): its sudo role, its group (a gid in
 * the clubs range), the club user with the same number, and the club's home
 * directory owned by the club user.
 *
 * As in create-member, each step is an ensure keyed by the club's name: an
 * entry that already exists is someone else's on a first attempt (a permanent
 * conflict), and this job's own earlier work on a later one when it matches.
 */
import { z } from 'zod';
import { hasCode, PermanentError, TransientError } from '../core/errors';
import { descriptionSchema, uidSchema } from '../core/model/fields';
import type { SudoRole } from '../core/model/group';
import { isClubAccount } from '../core/model/user';
import { type JobType, type StepContext, step } from './step';
import { allocateId } from './uid-numbers';

export const createGroupPayload = z.object({ cn: uidSchema, description: descriptionSchema }).strict();
export type CreateGroupPayload = z.infer<typeof createGroupPayload>;
type Ctx = StepContext<CreateGroupPayload>;

/** The sudo role a club gets: members of its group run commands as the club user. */
export function clubSudoRole(cn: string, clubs: { sudo_hosts: string[]; sudo_commands: string[]; sudo_options: string[] }): SudoRole {
  return { group: cn, runAsUser: cn, hosts: [...clubs.sudo_hosts], commands: [...clubs.sudo_commands], options: [...clubs.sudo_options] };
}

const sameSet = (a: string[], b: string[]) => a.length === b.length && a.every((x) => b.includes(x));
const sameRole = (a: SudoRole, b: SudoRole) =>
  a.group === b.group && a.runAsUser === b.runAsUser && sameSet(a.hosts, b.hosts) && sameSet(a.commands, b.commands) && sameSet(a.options, b.options);

/** The number add_group allocated: the club's gid, and its club user's uid. */
const numberOf = (ctx: Ctx): number => ctx.result(addGroupStep).gidNumber;

const inClubsRange = (ctx: Ctx, n: number) => n >= ctx.config.clubs.min_id && n <= ctx.config.clubs.max_id;

async function addSudoRole(ctx: Ctx) {
  const { ldap } = ctx.adapters;
  const { cn } = ctx.payload;
  const role = clubSudoRole(cn, ctx.config.clubs);
  const existing = await ldap.getSudoRole(cn);
  if (existing) {
    if (ctx.attempt > 1 && sameRole(existing, role)) return;
    throw new PermanentError('LDAP_ALREADY_EXISTS', `a sudo role %${cn} already exists`, 'cn');
  }
  // Nothing is written for a name that is taken: the API checked, but the world may have changed.
  if (await ldap.nameTaken(cn)) throw new PermanentError('LDAP_ALREADY_EXISTS', `${cn} is already taken by a user or group`, 'cn');
  await ldap.addSudoRole(role);
}

async function removeSudoRole(ctx: Ctx) {
  const existing = await ctx.adapters.ldap.getSudoRole(ctx.payload.cn);
  if (existing && sameRole(existing, clubSudoRole(ctx.payload.cn, ctx.config.clubs))) await ctx.adapters.ldap.deleteSudoRole(ctx.payload.cn);
}

async function addGroup(ctx: Ctx) {
  const { ldap } = ctx.adapters;
  const { cn, description } = ctx.payload;
  const mine = async (): Promise<number | null> => {
    const g = await ldap.getGroup(cn);
    if (!g) return null;
    if (ctx.attempt > 1 && g.description === description && inClubsRange(ctx, g.gidNumber)) return g.gidNumber;
    throw new PermanentError('LDAP_ALREADY_EXISTS', `group ${cn} already exists`, 'cn');
  };
  const earlier = await mine();
  if (earlier !== null) return { result: { gidNumber: earlier } };
  const gidNumber = await allocateId(ctx, 'clubs', ctx.config.clubs, async (n) => {
    try {
      await ldap.addGroup({ cn, gidNumber: n, description });
      return n;
    } catch (err) {
      // A redelivered attempt racing this job's own earlier one: its entry is ours.
      if (hasCode(err, 'LDAP_ALREADY_EXISTS')) {
        const got = await mine();
        if (got !== null) return got;
      }
      throw err;
    }
  });
  return { result: { gidNumber } };
}

async function removeGroup(ctx: Ctx) {
  const group = await ctx.adapters.ldap.getGroup(ctx.payload.cn);
  if (group && group.gidNumber === ctx.resultIfAny(addGroupStep)?.gidNumber) {
    await ctx.adapters.ldap.deleteGroup(ctx.payload.cn);
    await ctx.idFloor.lower('clubs', group.gidNumber);
  }
}

async function addClubUser(ctx: Ctx) {
  const { ldap } = ctx.adapters;
  const { cn, description } = ctx.payload;
  const n = numberOf(ctx);
  const existing = await ldap.getUser(cn);
  if (existing) {
    if (existing.uidNumber === n && isClubAccount(existing)) return;
    throw new PermanentError('LDAP_ALREADY_EXISTS', `user ${cn} already exists`, 'cn');
  }
  try {
    await ldap.addUser({
      uid: cn,
      cn: description,
      uidNumber: n,
      gidNumber: n,
      homeDirectory: `${ctx.config.clubs.home_root}/${cn}`,
      loginShell: ctx.config.shells.default,
      kind: 'club',
    });
  } catch (err) {
    // The unique overlay: a member took this number outside the lock. The group holds it, so retrying cannot help.
    if (hasCode(err, 'LDAP_CONSTRAINT_VIOLATION')) {
      throw new PermanentError('LDAP_CONSTRAINT_VIOLATION', `uid number ${n} is already used by another user`, 'cn', { cause: err });
    }
    if (hasCode(err, 'LDAP_ALREADY_EXISTS') && ctx.attempt > 1) {
      throw new TransientError('LOCK_BUSY', `user ${cn} appeared meanwhile; checking again`, undefined, { cause: err });
    }
    throw err;
  }
}

async function removeClubUser(ctx: Ctx) {
  const user = await ctx.adapters.ldap.getUser(ctx.payload.cn);
  if (user && user.uidNumber === ctx.resultIfAny(addGroupStep)?.gidNumber && isClubAccount(user)) {
    await ctx.adapters.ldap.deleteUser(ctx.payload.cn);
  }
}

async function createClubHome(ctx: Ctx) {
  const n = numberOf(ctx);
  await ctx.adapters.homeDirs.create(ctx.config.clubs.home_root, ctx.payload.cn, n, n);
}

async function removeClubHome(ctx: Ctx) {
  await ctx.adapters.homeDirs.remove(ctx.config.clubs.home_root, ctx.payload.cn, { owner: numberOf(ctx) });
}

const addGroupStep = step<CreateGroupPayload, { gidNumber: number }>({
  name: 'add_group',
  role: 'admin',
  title: (p) => `add group ${p.cn} to LDAP`,
  run: addGroup,
  undo: removeGroup,
});

export const createGroup: JobType<CreateGroupPayload> = {
  name: 'create_group',
  payload: createGroupPayload,
  // Users and groups share one namespace: a club and a member of one name must not both be made.
  lockKey: (p) => `member:${p.cn}`,
  steps: [
    { name: 'add_sudo_role', role: 'admin', title: (p) => `add sudo role %${p.cn}`, run: addSudoRole, undo: removeSudoRole },
    addGroupStep,
    { name: 'add_club_user', role: 'admin', title: (p) => `add club user uid=${p.cn} to LDAP`, run: addClubUser, undo: removeClubUser },
    { name: 'create_club_home', role: 'fs', title: (p) => `create home directory of ${p.cn}`, run: createClubHome, undo: removeClubHome },
  ],
};
