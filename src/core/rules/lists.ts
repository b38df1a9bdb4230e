/** Mailing lists: which a member may join on their own (docs/authorization.md#self-service-lists). */
import type { ListPolicy } from '../ports/mailman';

/**
 * Whether a member may put themself on a list without staff: an open or
 * confirm-only list that Mailman advertises, or one the config names
 * (`[mailman] self_service_lists`). A moderated or hidden list is staff's.
 */
export function selfServiceAllowed(list: string, policy: ListPolicy, configured: readonly string[]): boolean {
  return configured.includes(list) || (['open', 'confirm'].includes(policy.subscriptionPolicy) && policy.advertised);
}
