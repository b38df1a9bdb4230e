/**
 * What the API is built from: the config and the ports it uses, shared with
 * every route plugin through `app.ceod` (Fastify `decorate`). The API sees
 * only the core, the job types and the config; the composition root
 * (`src/compose.ts`) hands in the adapters behind these ports.
 */
import type { FastifyPluginCallback } from 'fastify';
import type { Config } from '../config/schema';
import type { Logger } from '../core/log';
import type { Authenticator, DatabaseKind, HomeDirs, JobEventFeed, JobQueue, JobStore, Ldap, Mailman, MemberDatabase, Metrics, SessionRegistry } from '../core/ports';

export interface ApiDeps {
  config: Config;
  store: JobStore;
  queue: JobQueue;
  events: JobEventFeed;
  ldap: Ldap;
  /** Session generations (revocation); shared by every API host. */
  sessions: SessionRegistry;
  /** For `.forward` reads where the home directories are mounted; optional. */
  homeDirs?: HomeDirs;
  /** For checking that a list exists before a subscription is enqueued; optional (the mail step checks too). */
  mailman?: Mailman;
  /** For checking whether a member's database exists before a create or reset is enqueued, where the host has the server's section; optional (the job checks too). */
  databases?: Partial<Record<DatabaseKind, MemberDatabase>>;
  log: Logger;
  authenticate: Authenticator;
  /** Today, for term checks; injectable so no test depends on the real date. */
  now?: () => Date;
  /** Milliseconds since the epoch for session cookie times; injectable for tests. */
  clock?: () => number;
  /** Extra readiness checks for /health, by name. */
  checks?: Record<string, () => Promise<void>>;
  /** The certificate and key to serve HTTPS with (PEM); absent: plain HTTP (`[ceod] tls = off`). */
  https?: { cert: Buffer; key: Buffer };
  /** What the API counts and times, served at `/metrics`; none when absent. */
  metrics?: Metrics;
  /**
   * The queue dashboard (bull-board over the role queues, built by the
   * composition root, as only the engine speaks BullMQ): a Fastify plugin for
   * mounting at the path given. Served to syscom only; absent: no dashboard.
   */
  queueBoard?: (basePath: string) => FastifyPluginCallback;
  /** ceod's version, for the OpenAPI document. */
  version?: string;
}

/** The services every route plugin reads from `app.ceod`. */
export interface ApiServices extends ApiDeps {
  now: () => Date;
  metrics: Metrics;
}

declare module 'fastify' {
  interface FastifyInstance {
    ceod: ApiServices;
    /** The event streams open on this host (set by the jobs plugin). */
    ceodStreams?: import('./http/stream-limits').StreamLimits;
    /** One reader per watched job, fanned out to its streams (set by the jobs plugin). */
    ceodFanout?: import('./http/event-fanout').EventFanout;
    /** Every route (HEAD excluded), in registration order, with its documentation. */
    ceodRoutes: readonly import('./http/openapi').RegisteredRoute[];
  }
}
