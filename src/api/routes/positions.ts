/** Positions (docs/api.md#read-positions): who holds which (any member), and replacing them all at once (syscom). */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { assertHoldersMayHold, byPosition, parsePositions, positionsConfigOf, positionsOfUsers, positionsView } from '../../core/rules/positions';
import { setPositions } from '../../jobs/set-positions';
import { defineRoute, writeRoute } from '../http/route';

export async function positionRoutes(api: FastifyInstance): Promise<void> {
  defineRoute(api, {
    method: 'GET',
    url: '/positions',
    access: 'member',
    what: 'read positions',
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
