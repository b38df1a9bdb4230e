/**
 * The `Metrics` port on prom-client (docs/operations.md#metrics): one registry
 * per process (never prom-client's global one, so tests and several
 * processes in one jest run do not share counters), Node's own process
 * metrics, and gauges read from their sources at every scrape.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { classify } from '../core/errors';
import type { Logger } from '../core/log';
import type { Metrics, QueueSample } from '../core/ports';

/** Step runs take from a few ms (an LDAP write) to minutes (a home directory on a slow NFS). */
const STEP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];
const HTTP_BUCKETS = [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10];

export interface PrometheusMetrics extends Metrics {
  readonly registry: Registry;
}

export function createPrometheusMetrics(opts: { log?: Logger } = {}): PrometheusMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];

  const submitted = new Counter({ name: 'ceod_jobs_submitted_total', help: 'Jobs the API accepted (202), by job type', labelNames: ['job_type'], registers });
  const finished = new Counter({ name: 'ceod_jobs_finished_total', help: 'Jobs that reached a final state, by job type and state', labelNames: ['job_type', 'state'], registers });
  const steps = new Histogram({
    name: 'ceod_step_duration_seconds',
    help: 'Duration of one run or undo of a step, by job type, step, host, phase and how it ended',
    labelNames: ['job_type', 'step', 'host', 'phase', 'outcome'],
    buckets: STEP_BUCKETS,
    registers,
  });
  const retries = new Counter({ name: 'ceod_step_retries_total', help: 'Step and undo attempts that failed transiently and are retried, by job type and error code', labelNames: ['job_type', 'code'], registers });
  const authFailures = new Counter({ name: 'ceod_auth_failures_total', help: 'Requests refused by authentication or authorization, by reason', labelNames: ['reason'], registers });
  const fixes = new Counter({ name: 'ceod_reconciler_fixes_total', help: 'Jobs the reconciler re-dispatched or failed, by action', labelNames: ['action'], registers });
  const http = new Histogram({
    name: 'ceod_http_request_duration_seconds',
    help: 'HTTP requests answered, by method, route as declared and status',
    labelNames: ['method', 'route', 'status'],
    buckets: HTTP_BUCKETS,
    registers,
  });
  let queueSource: (() => Promise<QueueSample[]>) | undefined;
  let streamSource: (() => number) | undefined;

  // One read of the queues serves both queue gauges (and the error count): the first collected reads, the others reuse it.
  let pending: Promise<QueueSample[] | null> | null = null;
  const collectErrors = new Counter({
    name: 'ceod_metrics_collect_errors_total',
    help: 'Scrapes in which a source could not be read (e.g. Redis down), by source',
    labelNames: ['source'],
    registers,
    // So that a failed read counts in the scrape it failed in.
    async collect() {
      await sampleQueues();
    },
  });
  const sampleQueues = (): Promise<QueueSample[] | null> =>
    (pending ??= (async () => {
      try {
        return queueSource ? await queueSource() : null;
      } catch (err) {
        collectErrors.inc({ source: 'queues' });
        opts.log?.warn({ error: classify(err) }, 'metrics: cannot read the queues');
        return null;
      } finally {
        setImmediate(() => (pending = null));
      }
    })());
  new Gauge({
    name: 'ceod_queue_jobs',
    help: 'Step jobs in each role queue, by state (every process reports every queue: aggregate with max by (queue, state))',
    labelNames: ['queue', 'state'],
    registers,
    async collect() {
      this.reset();
      for (const s of (await sampleQueues()) ?? []) {
        for (const state of ['waiting', 'active', 'delayed', 'failed'] as const) this.set({ queue: s.queue, state }, s[state]);
      }
    },
  });
  new Gauge({
    name: 'ceod_queue_oldest_waiting_seconds',
    help: 'Age of the oldest step job waiting in each role queue, since it was first added (0 when none waits)',
    labelNames: ['queue'],
    registers,
    async collect() {
      this.reset();
      for (const s of (await sampleQueues()) ?? []) this.set({ queue: s.queue }, s.oldestWaitingSeconds);
    },
  });
  new Gauge({
    name: 'ceod_sse_streams_open',
    help: 'Job event streams (SSE) open on this API host',
    registers,
    collect() {
      if (streamSource) this.set(streamSource());
    },
  });

  return {
    registry,
    jobSubmitted: (jobType) => submitted.inc({ job_type: jobType }),
    jobFinished: (jobType, state) => finished.inc({ job_type: jobType, state }),
    stepFinished: (t) => steps.observe({ job_type: t.jobType, step: t.step, host: t.host, phase: t.phase, outcome: t.outcome }, t.seconds),
    stepRetried: (jobType, code) => retries.inc({ job_type: jobType, code }),
    authFailed: (reason) => authFailures.inc({ reason }),
    reconcilerFixed: (fix) => fixes.inc({ action: fix }),
    httpRequest: (t) => http.observe({ method: t.method, route: t.route, status: String(t.status) }, t.seconds),
    watchQueues(sample) {
      queueSource = sample;
    },
    watchEventStreams(count) {
      streamSource = count;
    },
    async scrape() {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
}
