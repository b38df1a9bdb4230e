/**
 * The engine's BullMQ side: one Runner per worker process, consuming the
 * queues of the roles its host owns, interpreting every job type alike
 * (docs/ARCHITECTURE.md#jobs-and-the-engine).
 *
 * There is no long-lived coordinator job. The job record is the state
 * machine (`./transitions.ts`): its `phase` and `cursor` say which step (or
 * undo) is due. A worker runs the step at that position, records the outcome
 * on the record (compare-and-set on its version, with the step's events), then
 * runs the next step right here if it belongs to a role this worker owns, or
 * dispatches it to the queue of the role that does. A crash at any point is
 * recovered by redelivery (BullMQ's stalled-job check) and, for what
 * redelivery cannot fix, by the reconciler (`./reconciler.ts`).
 *
 * Transient errors are retried by BullMQ (exponential backoff with jitter);
 * permanent ones, or transient ones past the attempt budget, start the undo
 * phase: finished steps are undone in reverse, each on its own host.
 */
import { type Job, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Config } from '../config/schema';
import { classify, withTimeout } from '../core/errors';
import type { Logger } from '../core/log';
import type { JobRecord } from '../core/model/job';
import { isFinished } from '../core/model/job';
import type { Role } from '../core/model/roles';
import { type Adapters, type Coordination, type JobStore, type Metrics, noMetrics, type SessionRegistry } from '../core/ports';
import { jobTypes } from '../jobs/registry';
import type { JobType } from '../jobs/step';
import { type BullmqQueue, queueName, type StepJobData } from './bullmq-queue';
import { Reconciler } from './reconciler';
import { stepContext } from './step-context';
import * as t from './transitions';
import { type Consumer, Watchdog } from './watchdog';

export interface RunnerDeps {
  config: Config;
  store: JobStore;
  queue: BullmqQueue;
  coordination: Coordination;
  /** Session generations, for steps that end a user's sessions; none in tests that need none. */
  sessions?: SessionRegistry;
  /** A connection for BullMQ workers (maxRetriesPerRequest: null). */
  connection: Redis;
  adapters: Adapters;
  log: Logger;
  /** Roles to consume; defaults to the config's. */
  roles?: readonly Role[];
  /** Job types by name; defaults to the registry (tests hand in their own). */
  types?: ReadonlyMap<string, JobType<any>>;
  /** Step timings, retries, finished jobs, the reconciler's fixes; none when absent. */
  metrics?: Metrics;
}

const now = () => new Date().toISOString();

/** Exponential backoff with "equal jitter": half fixed, half random, capped. */
export function backoffDelay(attemptsMade: number, baseMs: number, maxMs: number, random = Math.random): number {
  const exp = Math.min(maxMs, baseMs * 2 ** Math.max(0, attemptsMade - 1));
  return Math.round(exp / 2 + random() * (exp / 2));
}

/** The queue job a step runs in, and the job's payload: what running the next step in it needs. */
interface Carrier<P> {
  job: Job<StepJobData>;
  payload: P;
}

export class Runner {
  /** The queue worker of each role, as the watchdog may have replaced it. */
  private readonly consumers = new Map<Role, Consumer>();
  private readonly host: string;
  private readonly types: ReadonlyMap<string, JobType<any>>;
  /** The roles this runner consumes. */
  private readonly roles: ReadonlySet<Role>;
  readonly reconciler: Reconciler;
  private readonly metrics: Metrics;
  readonly watchdog: Watchdog;

  constructor(private readonly deps: RunnerDeps) {
    this.host = deps.config.ceod.host;
    this.metrics = deps.metrics ?? noMetrics;
    this.types = deps.types ?? jobTypes;
    this.roles = new Set(deps.roles ?? deps.config.ceod.roles);
    this.reconciler = new Reconciler({
      store: deps.store,
      queue: deps.queue,
      coordination: deps.coordination,
      types: this.types,
      log: deps.log,
      host: this.host,
      idleMs: deps.config.ceod.reconcile_idle_ms,
      intervalMs: deps.config.ceod.stalled_interval_ms * 6,
      apply: (tr) => this.apply(tr),
      metrics: this.metrics,
    });
    this.watchdog = new Watchdog({
      consumers: () => this.consumers.values(),
      waiting: (role) => deps.queue.queue(role).getWaitingCount(),
      recreate: (role) => this.recreate(role),
      log: deps.log,
      intervalMs: deps.config.ceod.watchdog_interval_ms,
      stuckMs: deps.config.ceod.watchdog_stuck_ms,
    });
  }

  /** A BullMQ worker for one role's queue (not yet running), with what the watchdog watches. */
  private makeConsumer(role: Role): Consumer {
    const { config, connection } = this.deps;
    const c = config.ceod;
    const consumer: Consumer = { role, worker: undefined as unknown as Worker, inFlight: 0, concurrency: c.worker_concurrency, lastTakenAt: Date.now() };
    consumer.worker = new Worker<StepJobData>(
      queueName(role),
      async (job) => {
        consumer.inFlight += 1;
        consumer.lastTakenAt = Date.now();
        try {
          return await this.process(job);
        } finally {
          consumer.inFlight -= 1;
        }
      },
      {
        connection,
        prefix: config.redis.prefix,
        concurrency: c.worker_concurrency,
        lockDuration: c.lock_duration_ms,
        stalledInterval: c.stalled_interval_ms,
        maxStalledCount: c.max_stalled_count,
        settings: { backoffStrategy: (made: number) => backoffDelay(made, c.step_backoff_ms, c.step_backoff_max_ms) },
        autorun: false,
      },
    );
    consumer.worker.on('error', (err) => this.deps.log.error({ role, err: classify(err) }, 'queue worker error'));
    return consumer;
  }

  /** Starts consuming. Resolves once every queue's worker is connected. */
  async start(): Promise<void> {
    for (const role of this.roles) this.consumers.set(role, this.makeConsumer(role));
    for (const { worker } of this.consumers.values()) void worker.run();
    await Promise.all([...this.consumers.values()].map(({ worker }) => worker.waitUntilReady()));
    this.reconciler.start();
    if (this.deps.config.ceod.watchdog_interval_ms > 0) this.watchdog.start();
  }

  /**
   * The watchdog's remedy: a new worker for the role, and the old one let go
   * without waiting for the steps in hand (its connection is what is broken:
   * their locks lapse and BullMQ redelivers them, as after any crash).
   */
  private async recreate(role: Role): Promise<void> {
    const old = this.consumers.get(role);
    const fresh = this.makeConsumer(role);
    this.consumers.set(role, fresh);
    if (old) {
      const closing = old.worker.close(true).catch(() => undefined);
      // A close stuck on a dead connection must not hold the new worker back.
      void Promise.race([closing, new Promise((r) => setTimeout(r, 5000).unref())]);
    }
    void fresh.worker.run();
    await Promise.race([fresh.worker.waitUntilReady(), new Promise((r) => setTimeout(r, 10_000).unref())]);
  }

  /** How many times the watchdog recreated a queue worker in this process (for metrics). */
  get workersRecreated(): number {
    return this.watchdog.total;
  }

  /**
   * Stops taking steps, waits up to `graceMs` for those in hand, then lets go of
   * the rest: their locks lapse and another worker (or this one, restarted)
   * picks them up. Nothing is lost either way.
   */
  async stop(graceMs: number): Promise<void> {
    this.watchdog.stop();
    this.reconciler.stop();
    const workers = [...this.consumers.values()].map((c) => c.worker);
    const graceful = Promise.all(workers.map((w) => w.close()));
    const timedOut = await Promise.race([
      graceful.then(() => false),
      new Promise<boolean>((r) => setTimeout(() => r(true), graceMs).unref()),
    ]);
    if (timedOut) {
      this.deps.log.warn({ graceMs }, 'steps still running at the end of the grace period; handing them back');
      await Promise.all(workers.map((w) => w.close(true)));
    }
  }

  /** Runs the reconciler once (tests). */
  reconcile(idleMs?: number): Promise<number> {
    return this.reconciler.runOnce(idleMs);
  }

  /** The processor of every step job on every queue this worker consumes. */
  async process(job: Job<StepJobData>): Promise<string> {
    const { jobId, phase, index } = job.data;
    const record = await this.deps.store.get(jobId);
    if (!record || isFinished(record)) return 'gone';
    if (!t.isCurrent(record, { phase, index })) {
      // A redelivery of a step that was already recorded: make sure the current
      // position was dispatched, and stop.
      await this.deps.queue.dispatch(record);
      return 'stale';
    }
    const type = this.types.get(record.type);
    if (!type) {
      return this.apply(t.jobCannotRun(record, { code: 'UNKNOWN_JOB_TYPE', message: `no job type ${record.type}`, permanent: true }, now()));
    }
    const parsed = type.payload.safeParse(record.payload);
    if (!parsed.success) {
      // Validated at the API too; this catches jobs queued by an older version.
      const issue = parsed.error.issues[0];
      const message = `invalid payload: ${issue?.path.join('.')}: ${issue?.message}`;
      return this.apply(t.jobCannotRun(record, { code: 'INVALID_PAYLOAD', message, permanent: true }, now()));
    }
    const carrier = { job, payload: parsed.data };
    return phase === 'do' ? this.runStep(record, type, carrier) : this.runUndo(record, type, carrier);
  }

  /** Records how long a run or undo of a step took, from `startedMs`. */
  private timed(record: JobRecord, step: string, phase: 'do' | 'undo', outcome: 'completed' | 'retrying' | 'failed', startedMs: number): void {
    this.metrics.stepFinished({ jobType: record.type, step, host: this.host, phase, outcome, seconds: (Date.now() - startedMs) / 1000 });
  }

  private log(record: JobRecord, step?: string, phase?: string): Logger {
    return this.deps.log.child({ jobId: record.id, jobType: record.type, requester: record.requester, step, phase });
  }

  /**
   * Saves a transition and does what it says next: dispatch the next step or
   * undo, or run the next step right here when this worker owns its role and
   * there is a queue job to carry it (its start is then recorded in the same
   * write as this step's end, and there is no queue round trip). A crash in a
   * step run that way is recovered as any other: the queue job is redelivered,
   * finds the record moved on, and dispatches the current step.
   */
  private async apply<P>(tr: t.Transition, carrier?: Carrier<P>, type?: JobType<P>): Promise<string> {
    const { next } = tr;
    if (next.kind === 'run' && carrier && type && this.roles.has(tr.record.steps[next.index]!.role)) {
      return this.runStep(tr.record, type, carrier, tr.events);
    }
    if (!(await this.deps.store.save(tr.record, tr.events))) return 'stale';
    switch (next.kind) {
      case 'end':
        this.metrics.jobFinished(tr.record.type, next.state);
        if (next.state === 'completed') this.log(tr.record).info({ warnings: tr.record.warnings.length }, 'job completed');
        else this.log(tr.record).warn({ state: next.state, error: tr.record.error, undoErrors: tr.record.undoErrors }, 'job ended without completing');
        return next.state;
      case 'run':
        await this.deps.queue.dispatch(tr.record);
        return 'next';
      case 'undo':
        await this.deps.queue.dispatch(tr.record);
        return 'undo';
      default:
        return 'saved';
    }
  }

  /**
   * Runs the step at the record's cursor. `pending` are events of the step
   * before it in the same queue job (see `apply`), recorded with this one's start.
   */
  private async runStep<P>(before: JobRecord, type: JobType<P>, carrier: Carrier<P>, pending: t.Transition['events'] = []): Promise<string> {
    const { job, payload } = carrier;
    // The queue job's own step retries on the queue job's budget; a step that
    // followed it in the same queue job has had only its own attempts.
    const own = job.data.phase === 'do' && job.data.index === before.cursor;
    const started = t.stepStarted(before, { host: this.host, at: now() });
    const record = started.record;
    if (!(await this.deps.store.save(record, [...pending, ...started.events]))) return 'stale';
    const step = type.steps[record.cursor]!;
    const attempt = started.attempt;
    const log = this.log(record, step.name, 'do');
    const at = Date.now();
    // One info line per step (at its end); the start is in the job record and its events.
    log.debug({ attempt }, 'step started');
    let outcome;
    try {
      outcome = await withTimeout(`step ${step.name}`, this.deps.config.ceod.step_timeout_ms, (signal) => step.run(stepContext(this.deps, record, payload, attempt, signal)));
    } catch (err) {
      const info = classify(err);
      const made = own ? job.attemptsMade : attempt - 1;
      const tr = t.stepErrored(record, { info, attempt, budgetLeft: made + 1 < (job.opts.attempts ?? 1), at: now() });
      this.timed(record, step.name, 'do', tr.next.kind === 'save' ? 'retrying' : 'failed', at);
      if (tr.next.kind === 'save') {
        this.metrics.stepRetried(record.type, info.code);
        log.warn({ attempt, error: { code: info.code, message: info.message } }, 'step failed, will retry');
        await this.deps.store.save(tr.record, tr.events);
        // BullMQ schedules the retry with backoff. For a step that followed the
        // queue job's own, the retried queue job finds the record moved on and
        // dispatches this step as a queue job of its own (see `process`).
        throw err;
      }
      log.error({ attempt, error: { code: info.code, message: info.message } }, 'step failed for good');
      return this.apply(tr, carrier, type);
    }
    log.info({ attempt, ms: Date.now() - at }, 'step completed');
    this.timed(record, step.name, 'do', 'completed', at);
    return this.apply(t.stepSucceeded(record, outcome, now()), carrier, type);
  }

  private async runUndo<P>(before: JobRecord, type: JobType<P>, carrier: Carrier<P>): Promise<string> {
    const { job, payload } = carrier;
    const started = t.undoStarted(before, { host: this.host, at: now() });
    const record = started.record;
    if (!(await this.deps.store.save(record, started.events))) return 'stale';
    const step = type.steps[record.cursor]!;
    const attempt = job.attemptsMade + 1;
    const log = this.log(record, step.name, 'undo');
    const at = Date.now();
    try {
      await withTimeout(`undo ${step.name}`, this.deps.config.ceod.step_timeout_ms, (signal) => step.undo!(stepContext(this.deps, record, payload, attempt, signal)));
    } catch (err) {
      const info = classify(err);
      const tr = t.undoErrored(record, { info, budgetLeft: attempt < (job.opts.attempts ?? 1), at: now() });
      this.timed(record, step.name, 'undo', tr.next.kind === 'save' ? 'retrying' : 'failed', at);
      if (tr.next.kind === 'save') {
        this.metrics.stepRetried(record.type, info.code);
        await this.deps.store.save(tr.record, tr.events);
        log.warn({ attempt, error: { code: info.code, message: info.message } }, 'undo failed, will retry');
        throw err;
      }
      log.error({ attempt, error: { code: info.code, message: info.message } }, 'undo failed for good: needs a human');
      return this.apply(tr);
    }
    log.info('step undone');
    this.timed(record, step.name, 'undo', 'completed', at);
    return this.apply(t.undoSucceeded(record, now()));
  }
}
