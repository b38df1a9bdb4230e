/**
 * The roles a host can own (docs/hosts-and-roles.md). A step names the role
 * whose host runs it; a worker consumes the queues of its host's roles only.
 */
export const ROLES = ['admin', 'fs', 'mail', 'db'] as const;
export type Role = (typeof ROLES)[number];
