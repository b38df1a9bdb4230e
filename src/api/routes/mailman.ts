/**
 * Mailing list membership (docs/api.md#subscribe-or-unsubscribe):
 * `POST|DELETE /api/mailman/:list/:uid` subscribes or unsubscribes
 * `<uid>@<base domain>`. A member may change their own subscriptions, staff
 * anyone's.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { classify, PermanentError, TransientError } from '../../core/errors';
import { selfServiceAllowed } from '../../core/rules/lists';
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

/**
 * A member subscribing themself: the list must be open or confirm-only and
 * advertised, or named in `[mailman] self_service_lists` (403 otherwise). This
 * needs Mailman's answer: when it cannot be had, the request is refused (503)
 * rather than enqueued unchecked.
 */
async function assertSelfService(s: ApiServices, req: FastifyRequest, list: string): Promise<void> {
  if (!s.mailman) throw new TransientError('MAILMAN_UNAVAILABLE', 'this API host cannot ask Mailman whether the list admits self-service; try again or ask staff');
  let policy;
  try {
    policy = await s.mailman.listPolicy(list);
  } catch (err) {
    req.log.warn({ list, error: classify(err) }, 'cannot read the list policy from Mailman');
    throw new TransientError('MAILMAN_UNAVAILABLE', 'cannot ask Mailman whether the list admits self-service; try again', undefined, { cause: err });
  }
  if (!policy) throw new PermanentError('MAILMAN_NO_SUCH_LIST', `no mailing list ${list}`, 'list');
  if (!selfServiceAllowed(list, policy, s.config.mailman.self_service_lists)) {
    req.log.warn({ caller: req.caller.uid, list, policy }, 'denied: self-subscription to a list that does not admit it');
    throw new PermanentError('FORBIDDEN', `${list} does not admit self-service subscription (${policy.subscriptionPolicy}${policy.advertised ? '' : ', unadvertised'}): ask staff`, 'list');
  }
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
      payload: async ({ params: { list, uid }, req, caller, services: s }) => {
        if (!(await s.ldap.getUser(uid))) throw new PermanentError('NOT_FOUND', `no member ${uid}`, 'uid');
        // Staff subscribe anyone anywhere; a member joining on their own needs a list that admits it.
        const selfService = method === 'POST' && !caller.isStaff;
        if (selfService) await assertSelfService(s, req, list);
        else await assertListExists(s, req, list);
        return { list, uid, self_service: selfService };
      },
      subject: (p) => `${p.uid} on ${p.list}`,
    });
  }
}
