/** Positions (SPEC §5): who holds which (any member), and replacing them all at once (syscom). */
import type { FastifyInstance } from 'fastify';
import { PermanentError } from '../../errors';
import { setPositions } from '../../jobs/set-positions';
import { byPosition, holderProblem, parsePositions, positionsConfigOf, positionsOfUsers, positionsView } from '../../positions';
import type { ApiDeps } from '../app';
import { authorize } from '../auth';
import { enqueue } from '../enqueue';

export async function positionRoutes(api: FastifyInstance, deps: ApiDeps): Promise<void> {
  api.get('/positions', async () => {
    const held = byPosition(positionsOfUsers(await deps.ldap.positionHolders()));
    return { positions: positionsView(deps.config.positions?.available ?? [], held) };
  });

  api.post('/positions', async (req, reply) => {
    authorize(req, req.caller!.isSyscom, 'set positions');
    const holders = parsePositions(req.body, positionsConfigOf(deps.config));
    // Cheap checks before anything is enqueued; the job checks again, as the world may change.
    const users = await deps.ldap.getUsers([...new Set(Object.values(holders).flat())]);
    const problem = holderProblem(holders, users);
    if (problem) throw new PermanentError('BAD_REQUEST', `${problem.position}: ${problem.message}`, problem.position);
    return enqueue(deps, req, reply, setPositions, { positions: holders }, { subject: 'positions' });
  });
}
