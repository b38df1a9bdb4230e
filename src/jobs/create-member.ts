/**
 * Create a member (or, with `non_member_terms`, a club rep): docs/jobs.md#create_member.
 *
 * Every step is an ensure keyed by the uid. "Already exists" on a first attempt
 * is someone else's account (a permanent conflict); on a later attempt it may
 * be this job's own earlier work, and is accepted when it matches.
 */
import { z } from 'zod';
import { hasCode, PermanentError, TransientError } from '../core/errors';
import { forwardingSchema, oneKindOfTerms, personNameSchema, programSchema, termsSchema, uidSchema } from '../core/model/fields';
import { memberAddress } from '../core/model/names';
import { namesFromCn } from '../core/model/user';
import { sortTerms } from '../core/rules/terms';
import { generatePassword } from '../core/secret-box';
import { announcement, welcomeMail } from './mail-templates';
import { type JobType, type StepContext, step } from './step';
import { allocateId } from './uid-numbers';

export const createMemberPayload = z
  .object({
    uid: uidSchema,
    cn: personNameSchema,
    // Optional, as the original client sends neither: derived from cn (namesFromCn).
    given_name: personNameSchema.optional(),
    sn: personNameSchema.optional(),
    program: programSchema.optional(),
    terms: termsSchema.optional(),
    non_member_terms: termsSchema.optional(),
    forwarding_addresses: forwardingSchema.optional(),
  })
  .strict()
  .superRefine(oneKindOfTerms)
  .transform((p) => {
    // Each one absent is derived from cn; one given is never replaced.
    const derived = namesFromCn(p.cn);
    const given_name = p.given_name ?? derived.givenName;
    return { ...p, sn: p.sn ?? derived.sn, ...(given_name === undefined ? {} : { given_name }) };
  });

export type CreateMemberPayload = z.infer<typeof createMemberPayload>;

type Ctx = StepContext<CreateMemberPayload>;

/** The number add_ldap_user allocated (uid and gid alike). */
const uidNumberOf = (ctx: Ctx): number => ctx.result(addLdapUserStep).uidNumber;

const address = (ctx: Ctx) => memberAddress(ctx.payload.uid, ctx.config.ceod.base_domain);

async function addLdapUser(ctx: Ctx) {
  const { ldap } = ctx.adapters;
  const p = ctx.payload;
  const existing = await ldap.getUser(p.uid);
  if (existing) {
    if (ctx.attempt > 1 && existing.cn === p.cn) return { result: { uidNumber: existing.uidNumber } };
    throw new PermanentError('LDAP_ALREADY_EXISTS', `user ${p.uid} already exists`, 'uid');
  }
  const group = await ldap.getGroup(p.uid);
  if (group) throw new PermanentError('LDAP_ALREADY_EXISTS', `a group named ${p.uid} already exists`, 'uid');
  const { home_root } = ctx.config.members;
  // One allocator at a time across all hosts; slapd's unique overlay is the backstop.
  const uidNumber = await allocateId(ctx, 'members', ctx.config.members, async (n) => {
    try {
      await ldap.addUser({
        uid: p.uid,
        cn: p.cn,
        givenName: p.given_name,
        sn: p.sn,
        uidNumber: n,
        gidNumber: n,
        homeDirectory: `${home_root}/${p.uid}`,
        loginShell: ctx.config.shells.default,
        program: p.program,
        terms: p.terms ? sortTerms(p.terms) : undefined,
        nonMemberTerms: p.non_member_terms ? sortTerms(p.non_member_terms) : undefined,
        kind: 'member',
      });
      return n;
    } catch (err) {
      // The unique overlay refused the number: someone allocated it outside our lock. Retry afresh.
      if (hasCode(err, 'LDAP_CONSTRAINT_VIOLATION')) {
        throw new TransientError('LOCK_BUSY', `uid number ${n} was taken concurrently`, undefined, { cause: err });
      }
      // A redelivered attempt can race this job's own earlier attempt (its lock
      // lapsed while Redis was down, so BullMQ redelivered it while it still ran):
      // if the earlier one added the entry meanwhile, that is our work, not a conflict.
      if (hasCode(err, 'LDAP_ALREADY_EXISTS') && ctx.attempt > 1) {
        const mine = await ldap.getUser(p.uid);
        if (mine && mine.cn === p.cn) return mine.uidNumber;
      }
      throw err;
    }
  });
  return { result: { uidNumber } };
}

async function removeLdapUser(ctx: Ctx) {
  const existing = await ctx.adapters.ldap.getUser(ctx.payload.uid);
  const n = ctx.resultIfAny(addLdapUserStep)?.uidNumber;
  // Only ever delete the entry this job made.
  if (existing && (n === undefined ? existing.cn === ctx.payload.cn : existing.uidNumber === n)) {
    await ctx.adapters.ldap.deleteUser(ctx.payload.uid);
    await ctx.idFloor.lower('members', existing.uidNumber);
  }
}

async function addPersonalGroup(ctx: Ctx) {
  const { ldap } = ctx.adapters;
  const uidNumber = uidNumberOf(ctx);
  const existing = await ldap.getGroup(ctx.payload.uid);
  if (existing) {
    if (existing.gidNumber === uidNumber) return;
    throw new PermanentError('LDAP_ALREADY_EXISTS', `group ${ctx.payload.uid} already exists with another gid`, 'uid');
  }
  await ldap.addGroup({ cn: ctx.payload.uid, gidNumber: uidNumber, description: `personal group of ${ctx.payload.uid}` });
}

async function removePersonalGroup(ctx: Ctx) {
  const group = await ctx.adapters.ldap.getGroup(ctx.payload.uid);
  if (group && group.gidNumber === ctx.resultIfAny(addLdapUserStep)?.uidNumber) await ctx.adapters.ldap.deleteGroup(ctx.payload.uid);
}

async function addPrincipal(ctx: Ctx) {
  const { kadmin } = ctx.adapters;
  const password = generatePassword();
  // Saved (sealed) before the principal exists, so a crash right after addprinc
  // cannot leave a principal whose password nobody knows.
  await ctx.saveSecret('password', password);
  try {
    await kadmin.addPrincipal(ctx.payload.uid, password, { needChange: true });
  } catch (err) {
    if (!hasCode(err, 'KRB5_PRINCIPAL_EXISTS') || ctx.attempt <= 1) throw err;
    // Our own earlier attempt made it: set the password we just saved.
    await kadmin.setPassword(ctx.payload.uid, password, { needChange: true });
  }
}

async function removePrincipal(ctx: Ctx) {
  await ctx.adapters.kadmin.deletePrincipal(ctx.payload.uid);
}

async function createHome(ctx: Ctx) {
  const n = uidNumberOf(ctx);
  await ctx.adapters.homeDirs.create(ctx.config.members.home_root, ctx.payload.uid, n, n, ctx.config.members.skel);
}

async function removeHome(ctx: Ctx) {
  await ctx.adapters.homeDirs.remove(ctx.config.members.home_root, ctx.payload.uid);
}

async function writeForward(ctx: Ctx) {
  const addresses = ctx.payload.forwarding_addresses ?? [];
  if (addresses.length === 0) return;
  const n = uidNumberOf(ctx);
  await ctx.adapters.homeDirs.writeForward(ctx.config.members.home_root, ctx.payload.uid, n, n, addresses);
}

async function sendWelcome(ctx: Ctx) {
  const msg = welcomeMail({ uid: ctx.payload.uid, cn: ctx.payload.cn, domain: ctx.config.ceod.base_domain });
  await ctx.adapters.mailer.send({ ...msg, to: address(ctx), messageId: `<${ctx.jobId}.welcome@${ctx.config.ceod.base_domain}>` });
}

async function subscribeNewMemberList(ctx: Ctx) {
  if (!ctx.payload.terms) return; // club reps are not members
  await ctx.adapters.mailman.subscribe(ctx.config.mailman.new_member_list, address(ctx), ctx.payload.cn);
}

async function unsubscribeNewMemberList(ctx: Ctx) {
  if (!ctx.payload.terms) return;
  await ctx.adapters.mailman.unsubscribe(ctx.config.mailman.new_member_list, address(ctx));
}

async function announce(ctx: Ctx) {
  const p = ctx.payload;
  const msg = announcement({
    uid: p.uid,
    cn: p.cn,
    program: p.program,
    terms: p.terms ?? [],
    nonMemberTerms: p.non_member_terms ?? [],
  });
  await ctx.adapters.mailer.send({ ...msg, to: ctx.config.mail.announce_to, messageId: `<${ctx.jobId}.announce@${ctx.config.ceod.base_domain}>` });
}

const addLdapUserStep = step<CreateMemberPayload, { uidNumber: number }>({
  name: 'add_ldap_user',
  role: 'admin',
  title: (p) => `add uid=${p.uid} to LDAP`,
  run: addLdapUser,
  undo: removeLdapUser,
});

export const createMember: JobType<CreateMemberPayload> = {
  name: 'create_member',
  payload: createMemberPayload,
  lockKey: (p) => `member:${p.uid}`,
  steps: [
    addLdapUserStep,
    { name: 'add_personal_group', role: 'admin', title: (p) => `add group ${p.uid} to LDAP`, run: addPersonalGroup, undo: removePersonalGroup },
    { name: 'add_principal', role: 'admin', title: (p) => `add Kerberos principal ${p.uid}`, run: addPrincipal, undo: removePrincipal },
    { name: 'create_home', role: 'fs', title: (p) => `create home directory of ${p.uid}`, run: createHome, undo: removeHome },
    { name: 'write_forward', role: 'fs', title: (p) => `write ~${p.uid}/.forward`, run: writeForward },
    { name: 'send_welcome_mail', role: 'mail', title: (p) => `send welcome mail to ${p.uid}`, run: sendWelcome, bestEffort: true },
    { name: 'subscribe_new_member_list', role: 'mail', title: (p) => `subscribe ${p.uid} to the new-member list`, run: subscribeNewMemberList, undo: unsubscribeNewMemberList },
    { name: 'announce_new_member', role: 'mail', title: (p) => `announce ${p.uid} to staff`, run: announce, bestEffort: true },
  ],
};
