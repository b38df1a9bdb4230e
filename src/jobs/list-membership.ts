/**
 * Subscribe to and unsubscribe from a mailing list (docs/jobs.md#subscribe_list): one Mailman step
 * each, for `<uid>@<base domain>`. Both are ensures: subscribing someone
 * subscribed, or unsubscribing someone who is not, is success.
 *
 * Neither has an undo. A one-step job is only undone when that step itself
 * fails after a retry, and the step cannot tell whether the address was on the
 * list before it started: undoing could remove a subscription the person had
 * made themself, or restore one they had just left.
 */
import { z } from 'zod';
import { hasCode, PermanentError, reclassify } from '../core/errors';
import { listNameSchema, uidSchema } from '../core/model/fields';
import { memberAddress } from '../core/model/names';
import { selfServiceAllowed } from '../core/rules/lists';
import type { JobType, StepContext } from './step';

export const listMembershipPayload = z
  .object({
    list: listNameSchema,
    uid: uidSchema,
    /** Asked by the member themself (not staff): the list must admit self-service, checked again here. */
    self_service: z.boolean().default(false),
  })
  .strict();
export type ListMembershipPayload = z.infer<typeof listMembershipPayload>;
type Ctx = StepContext<ListMembershipPayload>;

const address = (ctx: Ctx) => memberAddress(ctx.payload.uid, ctx.config.ceod.base_domain);

/** Runs a Mailman call, naming the list plainly if it does not exist (deleted since the API checked). */
async function onList<T>(ctx: Ctx, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (hasCode(err, 'MAILMAN_NO_SUCH_LIST')) throw reclassify(err, 'MAILMAN_NO_SUCH_LIST', `no mailing list ${ctx.payload.list}`, { field: 'list' });
    throw err;
  }
}

async function subscribe(ctx: Ctx) {
  const { list } = ctx.payload;
  if (ctx.payload.self_service) {
    // The API checked; the list's settings may have changed since.
    const policy = await onList(ctx, () => ctx.adapters.mailman.listPolicy(list));
    if (!policy) throw new PermanentError('MAILMAN_NO_SUCH_LIST', `no mailing list ${list}`, 'list');
    if (!selfServiceAllowed(list, policy, ctx.config.mailman.self_service_lists)) {
      throw new PermanentError('FORBIDDEN', `${list} is not open to self-service subscription (${policy.subscriptionPolicy}${policy.advertised ? '' : ', unadvertised'}); ask staff`, 'list');
    }
  }
  await onList(ctx, () => ctx.adapters.mailman.subscribe(list, address(ctx)));
  return { result: { list: ctx.payload.list, address: address(ctx), subscribed: true } };
}

async function unsubscribe(ctx: Ctx) {
  const removed = await onList(ctx, () => ctx.adapters.mailman.unsubscribe(ctx.payload.list, address(ctx)));
  // `was_subscribed: false`: there was nothing to do, which is no error.
  return { result: { list: ctx.payload.list, address: address(ctx), was_subscribed: removed } };
}

const lockKey = (p: Pick<ListMembershipPayload, 'list' | 'uid'>) => `list:${p.list}:${p.uid}`;

export const subscribeList: JobType<ListMembershipPayload> = {
  name: 'subscribe_list',
  payload: listMembershipPayload,
  lockKey,
  steps: [{ name: 'subscribe', role: 'mail', title: (p) => `subscribe ${p.uid} to ${p.list}`, run: subscribe }],
};

export const unsubscribeList: JobType<ListMembershipPayload> = {
  name: 'unsubscribe_list',
  payload: listMembershipPayload,
  lockKey,
  steps: [{ name: 'unsubscribe', role: 'mail', title: (p) => `unsubscribe ${p.uid} from ${p.list}`, run: unsubscribe }],
};
