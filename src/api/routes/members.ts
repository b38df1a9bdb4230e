/** Member routes: create and read (SPEC §5). */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { PermanentError } from '../../errors';
import { createMember, createMemberPayload } from '../../jobs/create-member';
import { uidSchema } from '../../jobs/fields';
import { submitJob } from '../../jobs/submit';
import { isPastTerm, sortTerms } from '../../terms';
import { type ApiDeps, idempotencyKey, parseOr400 } from '../app';
import { authorize } from '../auth';
import { accepted } from './jobs';

const uidParams = z.object({ uid: uidSchema }).strict();

export async function memberRoutes(api: FastifyInstance, deps: ApiDeps): Promise<void> {
  const now = deps.now ?? (() => new Date());

  api.post('/members', async (req, reply) => {
    const caller = authorize(req, req.caller!.isStaff, 'create members');
    const payload = parseOr400(createMemberPayload, req.body, 'body');
    const today = now();
    for (const field of ['terms', 'non_member_terms'] as const) {
      const past = (payload[field] ?? []).find((t) => isPastTerm(t, today));
      if (past) throw new PermanentError('BAD_REQUEST', `${field}: ${past} is in the past`, field);
    }
    const key = idempotencyKey(req);
    if (key) {
      const prior = await deps.store.idempotent(caller.uid, key);
      if (prior) return accepted(reply, prior, true);
    }
    // Cheap checks before anything is enqueued; the job re-checks, as the world may change.
    await assertNameFree(deps, payload.uid);
    const result = await submitJob(deps, createMember, payload, caller.uid, key);
    if (result.kind === 'conflict') {
      throw Object.assign(new PermanentError('CONFLICT', `a job for ${payload.uid} is already queued or running: ${result.id}`, 'uid'), {
        jobId: result.id,
      });
    }
    return accepted(reply, result.id, result.kind === 'idempotent');
  });

  api.get('/members/:uid', async (req) => {
    const { uid } = parseOr400(uidParams, req.params, 'params');
    const caller = req.caller!;
    const user = await deps.ldap.getUser(uid);
    if (!user) throw new PermanentError('NOT_FOUND', `no member ${uid}`, 'uid');
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
}

async function assertNameFree(deps: ApiDeps, uid: string): Promise<void> {
  if (await deps.ldap.nameTaken(uid)) throw new PermanentError('CONFLICT', `${uid} is already taken by a user or group`, 'uid');
}
