/**
 * Group routes (SPEC §5): create and delete clubs, read and search groups, and
 * add or remove members. Reads are open to every member; writes are syscom's.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { PermanentError } from '../../errors';
import { createGroup, createGroupPayload } from '../../jobs/create-group';
import { deleteGroup } from '../../jobs/delete-group';
import { RESERVED_NAMES, groupNameSchema, uidSchema } from '../../jobs/fields';
import { addGroupMember, removeGroupMember } from '../../jobs/group-membership';
import type { GroupEntry } from '../../workers/adapters';
import { type ApiDeps, emptyBody, parseOr400 } from '../app';
import { authorize } from '../auth';
import { assertNameFree, enqueue } from '../enqueue';

const cnParams = z.object({ cn: groupNameSchema }).strict();
const memberParams = z.object({ cn: groupNameSchema, uid: uidSchema }).strict();
const flag = z.enum(['true', 'false'], { error: 'must be true or false' }).transform((v) => v === 'true');
const searchQuery = z
  .object({
    search: z
      .string({ error: 'is required' })
      .trim()
      .min(1, 'must not be empty')
      .max(64, 'must be at most 64 characters')
      .regex(/^[^\p{Cc}\p{Cf}\p{Zl}\p{Zp}]+$/u, 'must not contain control or invisible formatting characters'),
    limit: z.coerce.number({ error: 'must be a number' }).int('must be an integer').min(1, 'must be at least 1').max(100, 'must be at most 100').default(10),
  })
  .strict();

/**
 * Best matches first: the exact name, then names starting with the text, then
 * names holding it, then descriptions holding it; alphabetical within each.
 */
export function rankGroups<G extends { cn: string; description?: string }>(groups: G[], text: string): G[] {
  const t = text.toLowerCase();
  const rank = (g: G): number => {
    const cn = g.cn.toLowerCase();
    if (cn === t) return 0;
    if (cn.startsWith(t)) return 1;
    if (cn.includes(t)) return 2;
    return 3;
  };
  return groups
    .map((g) => ({ g, r: rank(g) }))
    .sort((a, b) => a.r - b.r || (a.g.cn < b.g.cn ? -1 : a.g.cn > b.g.cn ? 1 : 0))
    .map(({ g }) => g);
}

/** A member's personal group (its gid in the members' range) is not what a group search is for. */
const isPersonal = (deps: ApiDeps, g: GroupEntry) => g.gidNumber >= deps.config.members.min_id && g.gidNumber <= deps.config.members.max_id;

export async function groupRoutes(api: FastifyInstance, deps: ApiDeps): Promise<void> {
  api.post('/groups', async (req, reply) => {
    authorize(req, req.caller!.isSyscom, 'create groups');
    const payload = parseOr400(createGroupPayload, req.body, 'body');
    return enqueue(deps, req, reply, createGroup, payload, { subject: payload.cn, field: 'cn', precheck: () => assertNameFree(deps, payload.cn, 'cn') });
  });

  api.get('/groups', async (req) => {
    const q = parseOr400(searchQuery, req.query, 'query');
    const found = (await deps.ldap.searchGroups(q.search)).filter((g) => !isPersonal(deps, g));
    return {
      groups: rankGroups(found, q.search)
        .slice(0, q.limit)
        .map((g) => ({ cn: g.cn, gid_number: g.gidNumber, description: g.description })),
    };
  });

  api.get('/groups/:cn', async (req) => {
    const { cn } = parseOr400(cnParams, req.params, 'params');
    const group = await deps.ldap.getGroup(cn);
    if (!group) throw new PermanentError('NOT_FOUND', `no group ${cn}`, 'cn');
    const users = new Map((await deps.ldap.getUsers(group.members)).map((u) => [u.uid, u]));
    return {
      cn: group.cn,
      gid_number: group.gidNumber,
      description: group.description,
      members: [...group.members].sort().map((uid) => {
        const u = users.get(uid);
        return { uid, cn: u?.cn, program: u?.program };
      }),
    };
  });

  api.delete('/groups/:cn', async (req, reply) => {
    const { cn } = parseOr400(cnParams, req.params, 'params');
    authorize(req, req.caller!.isSyscom, 'delete groups');
    parseOr400(emptyBody, req.body, 'body');
    if (RESERVED_NAMES.has(cn)) throw new PermanentError('CONFLICT', `${cn} is a system group, not a club; ceod does not delete it`, 'cn');
    const [group, user, sudo] = await Promise.all([deps.ldap.getGroup(cn), deps.ldap.getUser(cn), deps.ldap.getSudoRole(cn)]);
    if (user && !user.objectClasses.includes('club')) {
      throw new PermanentError('CONFLICT', `${cn} is the personal group of a member: delete the member instead`, 'cn');
    }
    // Any part of a club is enough: deleting again finishes a half-deleted one.
    if (!group && !user && !sudo) throw new PermanentError('NOT_FOUND', `no group ${cn}`, 'cn');
    const { min_id, max_id } = deps.config.clubs;
    if (group && !user && !sudo && (group.gidNumber < min_id || group.gidNumber > max_id)) {
      throw new PermanentError('CONFLICT', `${cn} is not a club (gid ${group.gidNumber} is outside the clubs range); ceod does not delete it`, 'cn');
    }
    return enqueue(deps, req, reply, deleteGroup, { cn }, { subject: cn, field: 'cn' });
  });

  for (const [method, type, option] of [
    ['POST', addGroupMember, 'subscribe_to_lists'],
    ['DELETE', removeGroupMember, 'unsubscribe_from_lists'],
  ] as const) {
    const query = z.object({ [option]: flag.optional() }).strict();
    api.route({
      method,
      url: '/groups/:cn/members/:uid',
      handler: async (req, reply) => {
        const { cn, uid } = parseOr400(memberParams, req.params, 'params');
        authorize(req, req.caller!.isSyscom, `change the members of ${cn}`);
        const q = parseOr400(query, req.query, 'query') as Record<string, boolean | undefined>;
        parseOr400(emptyBody, req.body, 'body');
        const [group, user] = await Promise.all([deps.ldap.getGroup(cn), deps.ldap.getUser(uid)]);
        if (!group) throw new PermanentError('NOT_FOUND', `no group ${cn}`, 'cn');
        if (!user) throw new PermanentError('NOT_FOUND', `no member ${uid}`, 'uid');
        return enqueue(deps, req, reply, type, { cn, uid, lists: q[option] ?? true }, { subject: uid, field: 'uid' });
      },
    });
  }
}
