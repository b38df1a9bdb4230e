/** The mailing-list port: Mailman 3 memberships (adapter: `src/mailman`). */

/** A list's subscription settings: Mailman's `subscription_policy` and `advertised`. */
export interface ListPolicy {
  /** `open`, `confirm`, `moderate` or `confirm_then_moderate`. */
  subscriptionPolicy: string;
  advertised: boolean;
}


export interface Mailman {
  /** Already subscribed: success. Unknown list: PermanentError MAILMAN_NO_SUCH_LIST. */
  subscribe(list: string, address: string, displayName?: string): Promise<void>;
  /** Not subscribed: returns false. */
  unsubscribe(list: string, address: string): Promise<boolean>;
  members(list: string): Promise<string[]>;
  /** Lists (short names) this address is subscribed to. */
  subscriptions(address: string): Promise<string[]>;
  /** Whether the list exists. */
  listExists(list: string): Promise<boolean>;
  /** Who may join the list, as Mailman says; null if there is no such list. */
  listPolicy(list: string): Promise<ListPolicy | null>;
  ping(): Promise<void>;
}
