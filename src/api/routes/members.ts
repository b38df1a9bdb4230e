/**
 * Member routes (docs/api.md#routes): create, read, list, renew (one or
 * many), modify, reset password, delete, expire.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { PermanentError } from '../../core/errors';
import { oneKindOfTerms, termSchema, termsSchema, uidSchema } from '../../core/model/fields';
import { isClubAccount, type UserEntry } from '../../core/model/user';
import { expiryThreshold, selectExpired, selectLapsed } from '../../core/rules/expiry';
import { assertNoPastTerms, assertNoTermClash } from '../../core/rules/renewal';
import { assertShellAllowed } from '../../core/rules/shells';
import { sortTerms, termOf } from '../../core/rules/terms';
import { createMember, createMemberPayload } from '../../jobs/create-member';
import { deleteMember } from '../../jobs/delete-member';
import { expireMembers } from '../../jobs/expire-members';
import { modifyMember, modifyMemberPayload } from '../../jobs/modify-member';
import { renewMember, renewMemberPayload } from '../../jobs/renew-member';
import { renewMembers } from '../../jobs/renew-members';
import { resetPassword } from '../../jobs/reset-password';
import type { ApiServices } from '../services';
import { type Caller, refuseUnless } from '../http/auth';
import { component } from '../http/components';
import { acceptedSchema } from '../http/response';
import { defineRoute, enqueue, writeRoute } from '../http/route';
import { objectBody, parseOr400 } from '../http/validation';

const uidParams = z.object({ uid: uidSchema }).strict();
const expireBody = z.object({ dry_run: z.boolean({ error: 'must be true or false' }).optional() }, { error: 'must be a JSON object' }).strict().nullish();
const renewManyBody = z
  .object(
    {
      uids: z.array(uidSchema, { error: 'must be a list of uids' }).min(1, 'must hold at least one uid').max(100_000, 'must hold at most 100000 uids').optional(),
      all_expired: z.literal(true, { error: 'must be true' }).optional(),
      terms: termsSchema.optional(),
      non_member_terms: termsSchema.optional(),
      dry_run: z.boolean({ error: 'must be true or false' }).optional(),
    },
    { error: 'must be a JSON object' },
  )
  .strict()
  .superRefine(oneKindOfTerms)
  .superRefine((b, ctx) => {
    if (Boolean(b.uids) === Boolean(b.all_expired)) ctx.addIssue({ code: 'custom', path: ['uids'], message: 'give either uids or all_expired: true' });
  });
const listQuery = z
  .object({
    term: termSchema.optional(),
    limit: z.coerce.number({ error: 'must be a number' }).int('must be an integer').min(1, 'must be at least 1').max(500, 'must be at most 500').default(100),
    offset: z.coerce.number({ error: 'must be a number' }).int('must be an integer').min(0, 'must not be negative').default(0),
  })
  .strict();

/** `GET /api/members/:uid` (docs/api.md#read-a-member). */
const memberSchema = component(
  'Member',
  z.object({
    uid: z.string(),
    cn: z.string(),
    given_name: z.string().optional(),
    sn: z.string().optional(),
    program: z.string().optional(),
    terms: z.array(z.string()).meta({ description: 'member terms, sorted by date' }),
    non_member_terms: z.array(z.string()).meta({ description: 'club-rep terms, sorted by date' }),
    login_shell: z.string(),
    home_directory: z.string(),
    uid_number: z.number().int(),
    gid_number: z.number().int(),
    positions: z.array(z.string()),
    groups: z.array(z.string()).meta({ description: 'the groups whose uniqueMember names the user' }),
    is_club_rep: z.boolean(),
    forwarding_addresses: z
      .array(z.string())
      .optional()
      .meta({ description: 'only for the member themself and syscom, and only when the API host sees the home directories; [] when there is no ~/.forward' }),
  }),
);

/** `GET /api/members` (docs/api.md#list-members). */
const memberListSchema = component(
  'MemberList',
  z.object({
    total: z.number().int(),
    offset: z.number().int(),
    limit: z.number().int(),
    members: z.array(
      z.object({
        uid: z.string(),
        cn: z.string(),
        program: z.string().optional(),
        terms: z.array(z.string()),
        non_member_terms: z.array(z.string()),
        is_club_rep: z.boolean(),
      }),
    ),
  }),
);

/** The expiry dry run's 200 (docs/api.md#expire-members). */
const expiryDryRunSchema = component(
  'ExpiryDryRun',
  z.object({
    dry_run: z.literal(true),
    as_of: z.string().meta({ description: 'the API clock, ISO time' }),
    current_term: z.string(),
    threshold: z.string().meta({ description: 'accounts whose latest term is older than this are expired' }),
    uids: z.array(z.string()),
  }),
);

/** The bulk renewal's dry run, 200 (docs/api.md#renew-members-in-bulk). */
const renewalDryRunSchema = component(
  'RenewalDryRun',
  z.object({
    dry_run: z.literal(true),
    as_of: z.string().meta({ description: 'the API clock, ISO time' }),
    terms: z.array(z.string()).optional().meta({ description: 'as asked (member terms)' }),
    non_member_terms: z.array(z.string()).optional().meta({ description: 'as asked (club-rep terms)' }),
    uids: z.array(z.string()).meta({ description: 'who would be renewed, sorted' }),
  }),
);

async function existingUser(s: ApiServices, uid: string): Promise<UserEntry> {
  const user = await s.ldap.getUser(uid);
  if (!user) throw new PermanentError('NOT_FOUND', `no member ${uid}`, 'uid');
  return user;
}

/**
 * Only syscom may change an account that is itself staff (docs/authorization.md#staff-accounts):
 * one in `[ceod] protected_groups` (syscom, office, …). Otherwise office could
 * reset a syscom member's password, read it from the job, and become syscom.
 */
async function assertMayChange(s: ApiServices, caller: Caller, uid: string, what: string, req: FastifyRequest): Promise<void> {
  if (caller.isSyscom) return;
  const protectedGroups = new Set(s.config.ceod.protected_groups);
  const held = (await s.ldap.groupsOf(uid)).filter((g) => protectedGroups.has(g));
  refuseUnless(req, held.length === 0, `${what} ${uid}, who is in ${held.join(', ')} (only syscom may)`);
}

/** 409 unless `name` is free: users and groups share one namespace (docs/directory.md#names). */
async function assertNameFree(s: ApiServices, name: string, field: string): Promise<void> {
  if (await s.ldap.nameTaken(name)) throw new PermanentError('CONFLICT', `${name} is already taken by a user or group`, field);
}

export async function memberRoutes(api: FastifyInstance): Promise<void> {
  writeRoute(api, {
    method: 'POST',
    url: '/members',
    access: 'staff',
    what: 'create members',
    summary: "Create a member or club rep",
    body: createMemberPayload,
    job: createMember,
    payload: ({ body, services }) => {
      assertNoPastTerms(body, services.now());
      return body;
    },
    subject: (p) => p.uid,
    field: 'uid',
    // Cheap checks before anything is enqueued; the job re-checks, as the world may change.
    precheck: (p, { services }) => assertNameFree(services, p.uid, 'uid'),
  });

  defineRoute(api, {
    method: 'GET',
    url: '/members/:uid',
    access: 'member',
    what: 'read members',
    summary: 'Read a member',
    params: uidParams,
    response: { 200: memberSchema },
    handler: async ({ params: { uid }, caller, services: s }) => {
      const user = await existingUser(s, uid);
      const groups = await s.ldap.groupsOf(uid);
      const body: Record<string, unknown> = {
        uid: user.uid,
        cn: user.cn,
        given_name: user.givenName,
        sn: user.sn,
        program: user.program,
        terms: sortTerms(user.terms),
        non_member_terms: sortTerms(user.nonMemberTerms),
        login_shell: user.loginShell,
        home_directory: user.homeDirectory,
        uid_number: user.uidNumber,
        gid_number: user.gidNumber,
        positions: user.positions,
        groups,
        is_club_rep: user.nonMemberTerms.length > 0 && user.terms.length === 0,
      };
      // Forwarding addresses are the member's and syscom's business only.
      if ((caller.uid === uid || caller.isSyscom) && s.homeDirs) {
        body.forwarding_addresses = (await s.homeDirs.readForward(s.config.members.home_root, uid).catch(() => null)) ?? [];
      }
      return body;
    },
  });

  // Any member may list; the directory is readable to members anyway.
  defineRoute(api, {
    method: 'GET',
    url: '/members',
    access: 'member',
    what: 'list members',
    summary: "List members",
    query: listQuery,
    response: { 200: memberListSchema },
    handler: async ({ query: q, services: s }) => {
      const all = (await s.ldap.listMembers(q.term ? { term: q.term } : {})).sort((a, b) => (a.uid < b.uid ? -1 : a.uid > b.uid ? 1 : 0));
      return {
        total: all.length,
        offset: q.offset,
        limit: q.limit,
        members: all.slice(q.offset, q.offset + q.limit).map((u) => ({
          uid: u.uid,
          cn: u.cn,
          program: u.program,
          terms: sortTerms(u.terms),
          non_member_terms: sortTerms(u.nonMemberTerms),
          is_club_rep: u.nonMemberTerms.length > 0 && u.terms.length === 0,
        })),
      };
    },
  });

  // A read (the dry run, 200) and a write (202) in one route.
  defineRoute(api, {
    method: 'POST',
    url: '/members/expire',
    access: 'syscom',
    what: 'expire members',
    description: 'With `{"dry_run": true}`: who would expire, at once (200), nothing changes. Otherwise one `expire_members` job (202).',
    body: expireBody,
    response: { 200: expiryDryRunSchema, 202: acceptedSchema },
    handler: async (c) => {
      const s = c.services;
      const today = s.now();
      const threshold = expiryThreshold(today, s.config.expiry.grace_days);
      const uids = selectExpired(await s.ldap.listMembers(), threshold, s.config.shells.expired);
      if (c.body?.dry_run) return { dry_run: true, as_of: today.toISOString(), current_term: termOf(today), threshold, uids };
      return enqueue(c, expireMembers, { threshold, current_term: termOf(today), uids }, { subject: () => 'expiry' });
    },
  }, { jobType: expireMembers.name });

  // Bulk renewal: a read (the dry run, 200) and a write (202) in one route, as expiry.
  defineRoute(api, {
    method: 'POST',
    url: '/members/renew',
    access: 'syscom',
    what: 'renew members in bulk',
    summary: 'Renew members in bulk',
    description:
      'The members of `uids`, or with `{"all_expired": true}` every lapsed or expired account, get the terms they lack and, if expired, their shell back. With `"dry_run": true`: who would be renewed, at once (200), nothing changes. Otherwise one `renew_members` job (202), whose result has each member\'s outcome.',
    body: renewManyBody,
    response: { 200: renewalDryRunSchema, 202: acceptedSchema },
    handler: async (c) => {
      const s = c.services;
      const today = s.now();
      const b = c.body;
      assertNoPastTerms(b, today);
      let uids: string[];
      if (b.all_expired) {
        uids = selectLapsed(await s.ldap.listMembers(), expiryThreshold(today, s.config.expiry.grace_days), s.config.shells.expired);
      } else {
        uids = [...new Set(b.uids)].sort();
        const found = new Set((await s.ldap.getUsers(uids)).map((u) => u.uid));
        const unknown = uids.filter((u) => !found.has(u));
        if (unknown.length > 0) throw new PermanentError('NOT_FOUND', `no member ${unknown.slice(0, 10).join(', ')}${unknown.length > 10 ? ` and ${unknown.length - 10} more` : ''}`, 'uids');
      }
      const terms = b.terms ? { terms: b.terms } : { non_member_terms: b.non_member_terms! };
      if (b.dry_run) return { dry_run: true, as_of: today.toISOString(), ...terms, uids };
      return enqueue(c, renewMembers, { uids, ...terms }, { subject: () => 'bulk renewal' });
    },
  }, { jobType: renewMembers.name });

  writeRoute(api, {
    method: 'PATCH',
    url: '/members/:uid',
    access: { self: 'syscom' },
    what: ({ uid }) => `modify ${uid}`,
    summary: 'Modify a member (login shell, forwarding addresses)',
    params: uidParams,
    body: objectBody,
    documentedBody: { schema: modifyMemberPayload, omit: ['uid'] },
    job: modifyMember,
    payload: async ({ params, body, services, caller, req }) => {
      const payload = parseOr400(modifyMemberPayload, { uid: params.uid, ...body }, 'body');
      if (payload.login_shell !== undefined) assertShellAllowed(payload.login_shell, services.config.shells.allowed);
      await existingUser(services, payload.uid);
      // The member may always change their own; anyone else's staff account is syscom's.
      if (caller.uid !== payload.uid) await assertMayChange(services, caller, payload.uid, 'modify', req);
      return payload;
    },
    subject: (p) => p.uid,
    field: 'uid',
  });

  writeRoute(api, {
    method: 'POST',
    url: '/members/:uid/renew',
    access: 'staff',
    what: 'renew members',
    summary: 'Renew a member',
    params: uidParams,
    body: objectBody,
    documentedBody: { schema: renewMemberPayload, omit: ['uid'] },
    job: renewMember,
    payload: async ({ params, body, services, caller, req }) => {
      const payload = parseOr400(renewMemberPayload, { uid: params.uid, ...body }, 'body');
      assertNoPastTerms(payload, services.now());
      assertNoTermClash(params.uid, payload, await existingUser(services, params.uid));
      await assertMayChange(services, caller, params.uid, 'renew', req);
      return payload;
    },
    subject: (p) => p.uid,
    field: 'uid',
  });

  writeRoute(api, {
    method: 'POST',
    url: '/members/:uid/pwreset',
    access: 'staff',
    what: 'reset passwords',
    summary: "Reset a member's password",
    params: uidParams,
    job: resetPassword,
    payload: async ({ params, services, caller, req }) => {
      await existingUser(services, params.uid);
      await assertMayChange(services, caller, params.uid, 'reset the password of', req);
      return { uid: params.uid };
    },
    subject: (p) => p.uid,
    field: 'uid',
  });

  writeRoute(api, {
    method: 'DELETE',
    url: '/members/:uid',
    access: 'syscom',
    what: 'delete members',
    summary: "Delete a member",
    params: uidParams,
    job: deleteMember,
    payload: async ({ params, services }) => {
      const user = await existingUser(services, params.uid);
      // A club's account is deleted with its club: sudo role, group and home together.
      if (isClubAccount(user)) {
        throw new PermanentError('CONFLICT', `${params.uid} is a club account: delete the club with DELETE /api/groups/${params.uid}`, 'uid');
      }
      return { uid: params.uid };
    },
    subject: (p) => p.uid,
    field: 'uid',
  });
}
