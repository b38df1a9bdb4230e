/**
 * The metrics port (docs/operations.md#metrics): what the API and the engine
 * count and time, said in ceod's own words, so neither imports a metrics
 * library (adapter: `src/metrics/`, prom-client).
 *
 * Every label value is a name the code defines (a job type, a step, a role
 * queue, this host, an error code, a reason below): never a uid, a payload,
 * a path as sent, or anything else a caller chose. Metrics are read without
 * authentication, so nothing an authenticated caller may see goes in them.
 */
import type { JobState } from '../model/job';

export type FinalJobState = Extract<JobState, 'completed' | 'failed' | 'rolled_back'>;

/**
 * Why a request was refused before its route ran. `no_credentials` is also the
 * first leg of every SPNEGO handshake (a client sends its token after a 401).
 */
export type AuthFailure =
  | 'no_credentials'
  | 'token_refused'
  | 'not_club_account'
  | 'cookie_malformed'
  | 'cookie_bad_signature'
  | 'cookie_expired'
  | 'cookie_not_yet_valid'
  | 'cookie_revoked'
  | 'cookie_foreign_principal'
  | 'access_denied'
  | 'cross_site';

/** What the reconciler did to a job (src/workers/reconciler.ts). */
export type ReconcilerFix = 'redispatched' | 'failed_stalled' | 'failed_unreadable';

/** One run (or undo) of a step, as it ended. */
export interface StepTiming {
  jobType: string;
  step: string;
  /** The host that ran it (`[ceod] host`). */
  host: string;
  phase: 'do' | 'undo';
  /** `retrying`: the attempt failed and another is due. */
  outcome: 'completed' | 'retrying' | 'failed';
  seconds: number;
}

/** One role queue at one moment. */
export interface QueueSample {
  /** `ceod-<role>`. */
  queue: string;
  waiting: number;
  active: number;
  delayed: number;
  failed: number;
  /** Age of the oldest step job waiting to be taken; 0 when none waits. */
  oldestWaitingSeconds: number;
}

/** One answered HTTP request. */
export interface HttpTiming {
  method: string;
  /** The route as declared (`/api/members/:uid`), `unmatched` for a 404 of the router. */
  route: string;
  status: number;
  seconds: number;
}

export interface Metrics {
  /** The API accepted a job (202; an idempotent replay is not a new job). */
  jobSubmitted(jobType: string): void;
  /** A job reached a final state (recorded by the worker whose write ended it). */
  jobFinished(jobType: string, state: FinalJobState): void;
  stepFinished(t: StepTiming): void;
  /** A step (or undo) attempt failed transiently and will be retried. */
  stepRetried(jobType: string, code: string): void;
  authFailed(reason: AuthFailure): void;
  reconcilerFixed(fix: ReconcilerFix): void;
  httpRequest(t: HttpTiming): void;
  /** Read at every scrape: the role queues' depth and oldest waiting age. */
  watchQueues(sample: () => Promise<QueueSample[]>): void;
  /** Read at every scrape: the event streams open on this API host. */
  watchEventStreams(count: () => number): void;
  /** The exposition, in Prometheus's text format. */
  scrape(): Promise<{ contentType: string; body: string }>;
}

/** Metrics that go nowhere: for tests and processes built without them. */
export const noMetrics: Metrics = {
  jobSubmitted() {},
  jobFinished() {},
  stepFinished() {},
  stepRetried() {},
  authFailed() {},
  reconcilerFixed() {},
  httpRequest() {},
  watchQueues() {},
  watchEventStreams() {},
  async scrape() {
    return { contentType: 'text/plain; version=0.0.4; charset=utf-8', body: '' };
  },
};
