/** Positions (docs/api.md#read-positions): who holds which (any member), and replacing them all at once (syscom). */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { positionNameSchema, uidSchema } from '../../core/model/fields';
import { assertHoldersMayHold, byPosition, MAX_HOLDERS, parsePositions, positionsConfigOf, positionsOfUsers, positionsView } from '../../core/rules/positions';
import { setPositions } from '../../jobs/set-positions';
import { component } from '../http/components';
import { defineRoute, writeRoute } from '../http/route';

/** `GET /api/positions` (docs/api.md#read-positions). */
const positionsSchema = component(
  'Positions',
  z.object({ positions: z.record(z.string(), z.array(z.string())).meta({ description: 'position → holders; every configured position first, in config order (vacant: [])' }) }),
);

/**
 * The body of `POST /api/positions` as documented. `parsePositions` checks it
 * (against the configured positions, naming the position at fault); this is
 * its shape, for the document.
 */
const positionsBody = z
  .record(positionNameSchema, z.union([uidSchema, z.array(uidSchema).max(MAX_HOLDERS)]))
  .meta({ description: 'position → a uid or a list of uids; positions left out become vacant; required positions must have a holder' });

export async function positionRoutes(api: FastifyInstance): Promise<void> {
  defineRoute(api, {
    method: 'GET',
    url: '/positions',
    access: 'member',
    what: 'read positions',
    response: { 200: positionsSchema },
    handler: async ({ services: s }) => {
      const held = byPosition(positionsOfUsers(await s.ldap.positionHolders()));
      return { positions: positionsView(s.config.positions?.available ?? [], held) };
    },
  });

  writeRoute(api, {
    method: 'POST',
    url: '/positions',
    access: 'syscom',
    what: 'set positions',
    // Checked by parsePositions, which names the position at fault.
    body: z.unknown(),
    documentedBody: { schema: positionsBody },
    job: setPositions,
    payload: async ({ body, services: s }) => {
      const holders = parsePositions(body, positionsConfigOf(s.config));
      // Cheap checks before anything is enqueued; the job checks again, as the world may change.
      assertHoldersMayHold(holders, await s.ldap.getUsers([...new Set(Object.values(holders).flat())]));
      return { positions: holders };
    },
    subject: () => 'positions',
  });
}
