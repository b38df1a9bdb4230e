/**
 * Mailing list membership (docs/api.md#subscribe-or-unsubscribe):
 * `POST|DELETE /api/mailman/:list/:uid` subscribes or unsubscribes
 * `<uid>@<base domain>`. A member may change their own subscriptions, staff
 * anyone's.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { classify, PermanentError } from '../../core/errors';
import { listNameSchema, uidSchema } from '../../core/model/fields';
import { subscribeList, unsubscribeList } from '../../jobs/list-membership';
import type { ApiServices } from '../services';
import { writeRoute } from '../http/route';

const params = z.object({ list: listNameSchema, uid: uidSchema }).strict();

/**
 * An unknown list is a 404 before anything is enqueued, when this host can
 * ask Mailman. When it cannot (Mailman down, unreachable or refusing this
 * host), the job is enqueued anyway: the mail host is the one that must
 * reach Mailman, its step retries what is transient and names a missing list.
 */
async function assertListExists(s: ApiServices, req: FastifyRequest, list: string): Promise<void> {
  if (!s.mailman) return;
  let exists: boolean;
  try {
    exists = await s.mailman.listExists(list);
  } catch (err) {
    req.log.warn({ list, error: classify(err) }, 'cannot ask Mailman whether the list exists; enqueueing anyway');
    return;
  }
  if (!exists) throw new PermanentError('MAILMAN_NO_SUCH_LIST', `no mailing list ${list}`, 'list');
}

export async function mailmanRoutes(api: FastifyInstance): Promise<void> {
  for (const [method, job, verb, prep] of [
    ['POST', subscribeList, 'subscribe', 'to'],
    ['DELETE', unsubscribeList, 'unsubscribe', 'from'],
  ] as const) {
    writeRoute(api, {
      method,
      url: '/mailman/:list/:uid',
      access: { self: 'staff' },
      what: ({ list, uid }) => `${verb} ${uid} ${prep} ${list}`,
      params,
      job,
      payload: async ({ params: { list, uid }, req, services: s }) => {
        if (!(await s.ldap.getUser(uid))) throw new PermanentError('NOT_FOUND', `no member ${uid}`, 'uid');
        await assertListExists(s, req, list);
        return { list, uid };
      },
      subject: (p) => `${p.uid} on ${p.list}`,
    });
  }
}
