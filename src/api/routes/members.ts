/** Member routes (SPEC §5): create, read, list, renew, modify, reset password, delete, expire. */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { PermanentError } from '../../errors';
import { createMember, createMemberPayload } from '../../jobs/create-member';
import { deleteMember } from '../../jobs/delete-member';
import { expireMembers } from '../../jobs/expire-members';
import { termSchema, uidSchema } from '../../jobs/fields';
import { modifyMember, modifyMemberPayload } from '../../jobs/modify-member';
import { renewalKind, renewMember, renewMemberPayload } from '../../jobs/renew-member';
import { resetPassword } from '../../jobs/reset-password';
import { expiryThreshold, selectExpired } from '../../expiry';
import { isPastTerm, sortTerms, termOf } from '../../terms';
import type { UserEntry } from '../../workers/adapters';
import { type ApiDeps, emptyBody, parseOr400 } from '../app';
import { authorize } from '../auth';
import { assertNameFree, enqueue } from '../enqueue';

const uidParams = z.object({ uid: uidSchema }).strict();
/** A JSON object body without `uid` (the uid is the path's), to be merged with it. */
const objectBody = z.record(z.string(), z.unknown(), { error: 'must be a JSON object' }).refine((b) => !('uid' in b), { message: 'uid comes from the path', path: ['uid'] });
const expireBody = z.object({ dry_run: z.boolean({ error: 'must be true or false' }).optional() }, { error: 'must be a JSON object' }).strict().nullish();
const listQuery = z
  .object({
    term: termSchema.optional(),
    limit: z.coerce.number({ error: 'must be a number' }).int('must be an integer').min(1, 'must be at least 1').max(500, 'must be at most 500').default(100),
    offset: z.coerce.number({ error: 'must be a number' }).int('must be an integer').min(0, 'must not be negative').default(0),
  })
  .strict();

async function existingUser(deps: ApiDeps, uid: string): Promise<UserEntry> {
  const user = await deps.ldap.getUser(uid);
  if (!user) throw new PermanentError('NOT_FOUND', `no member ${uid}`, 'uid');
  return user;
}

export async function memberRoutes(api: FastifyInstance, deps: ApiDeps): Promise<void> {
  const now = deps.now ?? (() => new Date());

  api.post('/members', async (req, reply) => {
    authorize(req, req.caller!.isStaff, 'create members');
    const payload = parseOr400(createMemberPayload, req.body, 'body');
    const today = now();
    for (const field of ['terms', 'non_member_terms'] as const) {
      const past = (payload[field] ?? []).find((t) => isPastTerm(t, today));
      if (past) throw new PermanentError('BAD_REQUEST', `${field}: ${past} is in the past`, field);
    }
    // Cheap checks before anything is enqueued; the job re-checks, as the world may change.
    return enqueue(deps, req, reply, createMember, payload, { subject: payload.uid, field: 'uid', precheck: () => assertNameFree(deps, payload.uid, 'uid') });
  });

  api.get('/members/:uid', async (req) => {
    const { uid } = parseOr400(uidParams, req.params, 'params');
    const caller = req.caller!;
    const user = await existingUser(deps, uid);
    const groups = await deps.ldap.groupsOf(uid);
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
    if ((caller.uid === uid || caller.isSyscom) && deps.homeDirs) {
      body.forwarding_addresses = (await deps.homeDirs.readForward(deps.config.members.home_root, uid).catch(() => null)) ?? [];
    }
    return body;
  });

  // Any member may list; the directory is readable to members anyway.
  api.get('/members', async (req) => {
    const q = parseOr400(listQuery, req.query, 'query');
    const all = (await deps.ldap.listMembers(q.term ? { term: q.term } : {})).sort((a, b) => (a.uid < b.uid ? -1 : a.uid > b.uid ? 1 : 0));
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
  });

  api.post('/members/expire', async (req, reply) => {
    authorize(req, req.caller!.isSyscom, 'expire members');
    const body = parseOr400(expireBody, req.body, 'body') ?? {};
    const today = now();
    const threshold = expiryThreshold(today, deps.config.expiry.grace_days);
    const uids = selectExpired(await deps.ldap.listMembers(), threshold, deps.config.shells.expired);
    if (body.dry_run) return { dry_run: true, as_of: today.toISOString(), current_term: termOf(today), threshold, uids };
    return enqueue(deps, req, reply, expireMembers, { threshold, current_term: termOf(today), uids }, { subject: 'expiry' });
  });

  api.patch('/members/:uid', async (req, reply) => {
    const { uid } = parseOr400(uidParams, req.params, 'params');
    authorize(req, req.caller!.uid === uid || req.caller!.isSyscom, `modify ${uid}`);
    const body = parseOr400(objectBody, req.body, 'body');
    const payload = parseOr400(modifyMemberPayload, { uid, ...body }, 'body');
    if (payload.login_shell !== undefined && !deps.config.shells.allowed.includes(payload.login_shell)) {
      throw new PermanentError('BAD_REQUEST', `login_shell: must be one of ${deps.config.shells.allowed.join(', ')}`, 'login_shell');
    }
    await existingUser(deps, uid);
    return enqueue(deps, req, reply, modifyMember, payload, { subject: uid, field: 'uid' });
  });

  api.post('/members/:uid/renew', async (req, reply) => {
    const { uid } = parseOr400(uidParams, req.params, 'params');
    authorize(req, req.caller!.isStaff, 'renew members');
    const body = parseOr400(objectBody, req.body, 'body');
    const payload = parseOr400(renewMemberPayload, { uid, ...body }, 'body');
    const kind = renewalKind(payload);
    const past = kind.terms.find((t) => isPastTerm(t, now()));
    if (past) throw new PermanentError('BAD_REQUEST', `${kind.field}: ${past} is in the past`, kind.field);
    const user = await existingUser(deps, uid);
    const clash = kind.terms.find((t) => user[kind.other].includes(t));
    if (clash) throw new PermanentError('BAD_REQUEST', `${kind.field}: ${uid} already holds ${clash} as the other kind of term`, kind.field);
    return enqueue(deps, req, reply, renewMember, payload, { subject: uid, field: 'uid' });
  });

  api.post('/members/:uid/pwreset', async (req, reply) => {
    const { uid } = parseOr400(uidParams, req.params, 'params');
    authorize(req, req.caller!.isStaff, 'reset passwords');
    parseOr400(emptyBody, req.body, 'body');
    await existingUser(deps, uid);
    return enqueue(deps, req, reply, resetPassword, { uid }, { subject: uid, field: 'uid' });
  });

  api.delete('/members/:uid', async (req, reply) => {
    const { uid } = parseOr400(uidParams, req.params, 'params');
    authorize(req, req.caller!.isSyscom, 'delete members');
    parseOr400(emptyBody, req.body, 'body');
    await existingUser(deps, uid);
    return enqueue(deps, req, reply, deleteMember, { uid }, { subject: uid, field: 'uid' });
  });
}
