/**
 * Mailing list membership (SPEC §5): `POST|DELETE /api/mailman/:list/:uid`
 * subscribes or unsubscribes `<uid>@<base domain>`. A member may change their
 * own subscriptions, staff anyone's.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { classify, PermanentError } from '../../errors';
import { listNameSchema, uidSchema } from '../../jobs/fields';
import { subscribeList, unsubscribeList } from '../../jobs/list-membership';
import type { JobType } from '../../jobs/types';
import { type ApiDeps, emptyBody, parseOr400 } from '../app';
import { authorize } from '../auth';
import { enqueue } from '../enqueue';

const params = z.object({ list: listNameSchema, uid: uidSchema }).strict();

export async function mailmanRoutes(api: FastifyInstance, deps: ApiDeps): Promise<void> {
  /**
   * An unknown list is a 404 before anything is enqueued, when this host can
   * ask Mailman. When it cannot (Mailman down, unreachable or refusing this
   * host), the job is enqueued anyway: the mail host is the one that must
   * reach Mailman, its step retries what is transient and names a missing list.
   */
  async function assertListExists(req: FastifyRequest, list: string): Promise<void> {
    if (!deps.mailman) return;
    let exists: boolean;
    try {
      exists = await deps.mailman.listExists(list);
    } catch (err) {
      req.log.warn({ list, error: classify(err) }, 'cannot ask Mailman whether the list exists; enqueueing anyway');
      return;
    }
    if (!exists) throw new PermanentError('MAILMAN_NO_SUCH_LIST', `no mailing list ${list}`, 'list');
  }

  const change = (type: JobType<{ list: string; uid: string }>, verb: string) => async (req: FastifyRequest, reply: FastifyReply) => {
    const { list, uid } = parseOr400(params, req.params, 'params');
    authorize(req, req.caller!.uid === uid || req.caller!.isStaff, `${verb} ${uid} ${verb === 'subscribe' ? 'to' : 'from'} ${list}`);
    parseOr400(emptyBody, req.body, 'body');
    if (!(await deps.ldap.getUser(uid))) throw new PermanentError('NOT_FOUND', `no member ${uid}`, 'uid');
    await assertListExists(req, list);
    return enqueue(deps, req, reply, type, { list, uid }, { subject: `${uid} on ${list}` });
  };

  api.post('/mailman/:list/:uid', change(subscribeList, 'subscribe'));
  api.delete('/mailman/:list/:uid', change(unsubscribeList, 'unsubscribe'));
}
