/** Every Redis key and channel ceod uses, under the `[redis] prefix` (docs/ARCHITECTURE.md#state-in-redis). */
export function keys(prefix: string) {
  return {
    job: (id: string) => `${prefix}:job:${id}`,
    events: (id: string) => `${prefix}:events:${id}`,
    secrets: (id: string) => `${prefix}:secrets:${id}`,
    lock: (resource: string) => `${prefix}:lock:${resource}`,
    idem: (requester: string, key: string) => `${prefix}:idem:${requester}:${key}`,
    active: () => `${prefix}:active`,
    /** Every job by creation time (see ./job-index.ts), and each requester's. */
    jobs: () => `${prefix}:jobs`,
    jobsBy: (requester: string) => `${prefix}:jobs-by:${requester}`,
    channel: () => `${prefix}:events`,
    mutex: (name: string) => `${prefix}:mutex:${name}`,
    idFloor: (pool: string) => `${prefix}:id-floor:${pool}`,
    sessionGen: (uid: string) => `${prefix}:session-gen:${uid}`,
  };
}

export type Keys = ReturnType<typeof keys>;
