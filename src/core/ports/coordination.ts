/**
 * Coordination between hosts (adapter: `src/store`, Redis): a short mutex
 * and the id-allocation floors (docs/directory.md#uid-numbers).
 */
export interface IdFloors {
  /** No number of `pool` below the floor was free when it was set; null when unknown. */
  get(pool: string): Promise<number | null>;
  set(pool: string, n: number): Promise<void>;
  /** Lowers the floor to `n` (never raises it): a number was freed. */
  lower(pool: string, n: number): Promise<void>;
}

export interface Coordination {
  /**
   * Runs `work` holding a mutex shared by every host. A mutex still busy after
   * `waitMs` (default: the configured wait) is a transient LOCK_BUSY.
   */
  withLock<T>(name: string, work: () => Promise<T>, opts?: { waitMs?: number }): Promise<T>;
  idFloors: IdFloors;
}
