/**
 * The ports: what the core needs of the world, as interfaces. Adapters
 * (`src/ldap`, `src/krb5`, `src/mailman`, `src/mail`, `src/homedirs`,
 * `src/mysql`, `src/postgresql`, `src/store`, `src/workers/bullmq-queue.ts`) implement them; the composition
 * root (`src/compose.ts`) wires them; unit tests pass fakes.
 */
import type { HomeDirs } from './home-dirs';
import type { Kadmin } from './kadmin';
import type { Ldap } from './ldap';
import type { Mailer } from './mailer';
import type { Mailman } from './mailman';
import type { MemberDatabase } from './member-databases';

export type { Authenticator, SpnegoResult } from './spnego';
export type { Coordination, IdFloors } from './coordination';
export type { HomeDirs } from './home-dirs';
export type { JobEventFeed, JobNews } from './job-events';
export type { JobQueue } from './job-queue';
export type { IdempotencyKey, JobListPage, JobListQuery, JobStore, SubmitOutcome } from './job-store';
export type { Kadmin } from './kadmin';
export type { Ldap } from './ldap';
export type { Mailer } from './mailer';
export type { AuthFailure, FinalJobState, HttpTiming, Metrics, QueueSample, ReconcilerFix, StepTiming } from './metrics';
export { noMetrics } from './metrics';
export type { SessionRegistry } from './sessions';
export type { ListPolicy, Mailman } from './mailman';
export { DATABASE_KINDS, type DatabaseEndpoint, type DatabaseKind, type MemberDatabase } from './member-databases';

/** The adapters a worker's steps use; only those of its roles are built, the rest throw on use. */
export interface Adapters {
  readonly ldap: Ldap;
  readonly kadmin: Kadmin;
  readonly homeDirs: HomeDirs;
  readonly mailman: Mailman;
  readonly mailer: Mailer;
  /** Members' MySQL (MariaDB) databases (db role). */
  readonly mysql: MemberDatabase;
  /** Members' PostgreSQL databases (db role). */
  readonly postgresql: MemberDatabase;
}
