/**
 * Group routes (docs/api.md#routes): create and delete clubs, read and search
 * groups, and add or remove members. Reads are open to every member; writes
 * are syscom's.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { PermanentError } from '../../core/errors';
import { groupNameSchema, safeText, uidSchema } from '../../core/model/fields';
import { RESERVED_NAMES } from '../../core/model/names';
import { isClubAccount } from '../../core/model/user';
import { isPersonalGroup, rankGroups } from '../../core/rules/groups';
import { createGroup, createGroupPayload } from '../../jobs/create-group';
import { deleteGroup } from '../../jobs/delete-group';
import { addGroupMember, removeGroupMember } from '../../jobs/group-membership';
import { component } from '../http/components';
import { defineRoute, writeRoute } from '../http/route';
import { flag } from '../http/validation';

const cnParams = z.object({ cn: groupNameSchema }).strict();
const memberParams = z.object({ cn: groupNameSchema, uid: uidSchema }).strict();
const searchQuery = z
  .object({
    search: safeText(64),
    limit: z.coerce.number({ error: 'must be a number' }).int('must be an integer').min(1, 'must be at least 1').max(100, 'must be at most 100').default(10),
  })
  .strict();

/** `GET /api/groups/:cn` (docs/api.md#read-a-group). */
const groupSchema = component(
  'Group',
  z.object({
    cn: z.string(),
    gid_number: z.number().int(),
    description: z.string().optional(),
    members: z.array(z.object({ uid: z.string(), cn: z.string().optional(), program: z.string().optional() })).meta({ description: 'sorted by uid' }),
  }),
);

/** `GET /api/groups?search=` (docs/api.md#search-groups). */
const groupSearchSchema = component(
  'GroupSearch',
  z.object({
    groups: z.array(z.object({ cn: z.string(), gid_number: z.number().int(), description: z.string().optional() })).meta({ description: 'best match first' }),
  }),
);

export async function groupRoutes(api: FastifyInstance): Promise<void> {
  writeRoute(api, {
    method: 'POST',
    url: '/groups',
    access: 'syscom',
    what: 'create groups',
    summary: 'Create a club',
    body: createGroupPayload,
    job: createGroup,
    payload: ({ body }) => body,
    subject: (p) => p.cn,
    field: 'cn',
    precheck: async (p, { services }) => {
      if (await services.ldap.nameTaken(p.cn)) throw new PermanentError('CONFLICT', `${p.cn} is already taken by a user or group`, 'cn');
    },
  });

  defineRoute(api, {
    method: 'GET',
    url: '/groups',
    access: 'member',
    what: 'search groups',
    query: searchQuery,
    response: { 200: groupSearchSchema },
    handler: async ({ query: q, services: s }) => {
      const found = (await s.ldap.searchGroups(q.search)).filter((g) => !isPersonalGroup(g, s.config.members));
      return {
        groups: rankGroups(found, q.search)
          .slice(0, q.limit)
          .map((g) => ({ cn: g.cn, gid_number: g.gidNumber, description: g.description })),
      };
    },
  });

  defineRoute(api, {
    method: 'GET',
    url: '/groups/:cn',
    access: 'member',
    what: 'read groups',
    summary: 'Read a group',
    params: cnParams,
    response: { 200: groupSchema },
    handler: async ({ params: { cn }, services: s }) => {
      const group = await s.ldap.getGroup(cn);
      if (!group) throw new PermanentError('NOT_FOUND', `no group ${cn}`, 'cn');
      const users = new Map((await s.ldap.getUsers(group.members)).map((u) => [u.uid, u]));
      return {
        cn: group.cn,
        gid_number: group.gidNumber,
        description: group.description,
        members: [...group.members].sort().map((uid) => {
          const u = users.get(uid);
          return { uid, cn: u?.cn, program: u?.program };
        }),
      };
    },
  });

  writeRoute(api, {
    method: 'DELETE',
    url: '/groups/:cn',
    access: 'syscom',
    what: 'delete groups',
    summary: 'Delete a club',
    params: cnParams,
    job: deleteGroup,
    payload: async ({ params: { cn }, services: s }) => {
      if (RESERVED_NAMES.has(cn)) throw new PermanentError('CONFLICT', `${cn} is a system group, not a club; ceod does not delete it`, 'cn');
      const [group, user, sudo] = await Promise.all([s.ldap.getGroup(cn), s.ldap.getUser(cn), s.ldap.getSudoRole(cn)]);
      if (user && !isClubAccount(user)) throw new PermanentError('CONFLICT', `${cn} is the personal group of a member: delete the member instead`, 'cn');
      // Any part of a club is enough: deleting again finishes a half-deleted one.
      if (!group && !user && !sudo) throw new PermanentError('NOT_FOUND', `no group ${cn}`, 'cn');
      const { min_id, max_id } = s.config.clubs;
      if (group && !user && !sudo && (group.gidNumber < min_id || group.gidNumber > max_id)) {
        throw new PermanentError('CONFLICT', `${cn} is not a club (gid ${group.gidNumber} is outside the clubs range); ceod does not delete it`, 'cn');
      }
      return { cn };
    },
    subject: (p) => p.cn,
    field: 'cn',
  });

  for (const [method, job, option] of [
    ['POST', addGroupMember, 'subscribe_to_lists'],
    ['DELETE', removeGroupMember, 'unsubscribe_from_lists'],
  ] as const) {
    writeRoute(api, {
      method,
      url: '/groups/:cn/members/:uid',
      access: 'syscom',
      what: ({ cn }) => `change the members of ${cn}`,
      summary: method === 'POST' ? 'Add a member to a group' : 'Remove a member from a group',
      params: memberParams,
      query: z.object({ [option]: flag.optional() }).strict() as z.ZodType<Record<string, boolean | undefined>>,
      job,
      payload: async ({ params: { cn, uid }, query, services: s }) => {
        const [group, user] = await Promise.all([s.ldap.getGroup(cn), s.ldap.getUser(uid)]);
        if (!group) throw new PermanentError('NOT_FOUND', `no group ${cn}`, 'cn');
        if (!user) throw new PermanentError('NOT_FOUND', `no member ${uid}`, 'uid');
        return { cn, uid, lists: query[option] ?? true };
      },
      subject: (p) => p.uid,
      field: 'uid',
    });
  }
}
