/**
 * The step runner: one per worker process, consuming the queues of the roles
 * its host owns. It interprets every job type the same way.
 *
 * There is no long-lived coordinator job. The job record is the state machine:
 * its `phase` and `cursor` say which step (or undo) is due. A worker runs the
 * step at that position, records the outcome on the record (compare-and-set on
 * its version), then dispatches the next position to the queue of the role that
 * owns it. So each step costs one BullMQ job and a few Redis round trips, and a
 * crash at any point is recovered by redelivery (BullMQ's stalled-job check):
 *
 * - crash during a step: the step re-runs; steps are ensures, and
 *   `ctx.attempt > 1` tells them "already there" may be their own work;
 * - crash after recording but before dispatching: the redelivered step sees the
 *   record has moved on and dispatches the current position again (a no-op if
 *   it was already dispatched: step jobs have fixed ids);
 * - a step job that BullMQ gave up on (stalled too often) is found by the
 *   reconciler and treated as a failed step.
 *
 * Transient errors are retried by BullMQ (exponential backoff with jitter);
 * permanent ones, or transient ones past the attempt budget, start the undo
 * phase: finished steps are undone in reverse, each on its own host.
 */
import { Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Config, Role } from '../config/schema';
import { classify, type ErrorInfo, withTimeout } from '../errors';
import type { Logger } from '../log';
import { jobTypes } from '../jobs/registry';
import type { JobEvent, JobStore } from '../jobs/store';
import type { JobRecord, JobType, StepContext, StepDef, StepResult } from '../jobs/types';
import { sealSecret } from '../secret-box';
import type { Adapters } from './adapters';
import { type Dispatcher, queueName, type StepJobData, stepJobId } from './dispatcher';
import { withMutex } from './mutex';

export interface RunnerDeps {
  config: Config;
  store: JobStore;
  dispatcher: Dispatcher;
  /** A connection for BullMQ workers (maxRetriesPerRequest: null). */
  connection: Redis;
  adapters: Adapters;
  log: Logger;
  /** Roles to consume; defaults to the config's. */
  roles?: readonly Role[];
  /** Job types by name; defaults to the registry (tests hand in their own). */
  types?: ReadonlyMap<string, JobType<any>>;
}

const now = () => new Date().toISOString();

const ID_FLOOR_TTL_MS = 5 * 60_000;
// KEYS: floor; ARGV: n, ttl. Lowers the floor to n (never raises it).
const LOWER_FLOOR = `local cur = redis.call('GET', KEYS[1])
if cur and tonumber(cur) > tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) end
return 1`;

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

const isFinished = (r: JobRecord) => r.state === 'completed' || r.state === 'failed' || r.state === 'rolled_back';

export class Runner {
  private readonly workers: Worker[] = [];
  private reconcileTimer?: NodeJS.Timeout;
  private readonly host: string;
  private readonly stepTimeoutMs = 120_000;
  private readonly types: ReadonlyMap<string, JobType<any>>;

  /** The roles this runner consumes. */
  private readonly roles: ReadonlySet<Role>;

  constructor(private readonly deps: RunnerDeps) {
    this.host = deps.config.ceod.host;
    this.types = deps.types ?? jobTypes;
    this.roles = new Set(deps.roles ?? deps.config.ceod.roles);
  }

  /** Starts consuming. Resolves once every queue's worker is connected. */
  async start(): Promise<void> {
    const { config, connection } = this.deps;
    const c = config.ceod;
    for (const role of this.roles) {
      const worker = new Worker<StepJobData>(queueName(role), (job) => this.process(job), {
        connection,
        prefix: config.redis.prefix,
        concurrency: c.worker_concurrency,
        lockDuration: c.lock_duration_ms,
        stalledInterval: c.stalled_interval_ms,
        maxStalledCount: 5,
        settings: { backoffStrategy: (made: number) => backoffDelay(made, c.step_backoff_ms, c.step_backoff_max_ms) },
        autorun: false,
      });
      worker.on('error', (err) => this.deps.log.error({ role, err: classify(err) }, 'queue worker error'));
      this.workers.push(worker);
    }
    for (const w of this.workers) void w.run();
    await Promise.all(this.workers.map((w) => w.waitUntilReady()));
    this.reconcileTimer = setInterval(() => void this.reconcile().catch(() => undefined), c.stalled_interval_ms * 6);
    this.reconcileTimer.unref();
  }

  /**
   * Stops taking steps, waits up to `graceMs` for those in hand, then lets go of
   * the rest: their locks lapse and another worker (or this one, restarted)
   * picks them up. Nothing is lost either way.
   */
  async stop(graceMs: number): Promise<void> {
    clearInterval(this.reconcileTimer);
    const graceful = Promise.all(this.workers.map((w) => w.close()));
    const timedOut = await Promise.race([
      graceful.then(() => false),
      new Promise<boolean>((r) => setTimeout(() => r(true), graceMs).unref()),
    ]);
    if (timedOut) {
      this.deps.log.warn({ graceMs }, 'steps still running at the end of the grace period; handing them back');
      await Promise.all(this.workers.map((w) => w.close(true)));
    }
  }

  /** The processor of every step job on every queue this worker consumes. */
  async process(job: Job<StepJobData>): Promise<string> {
    const { jobId, phase, index } = job.data;
    const record = await this.deps.store.get(jobId);
    if (!record || isFinished(record)) return 'gone';
    if (record.phase !== phase || record.cursor !== index) {
      // A redelivery of a step that was already recorded: make sure the current
      // position was dispatched, and stop.
      await this.deps.dispatcher.dispatch(record);
      return 'stale';
    }
    const type = this.types.get(record.type);
    if (!type) {
      return this.failJob(record, { code: 'UNKNOWN_JOB_TYPE', message: `no job type ${record.type}`, permanent: true });
    }
    const parsed = type.payload.safeParse(record.payload);
    if (!parsed.success) {
      // Validated at the API too; this catches jobs queued by an older version.
      const issue = parsed.error.issues[0];
      const message = `invalid payload: ${issue?.path.join('.')}: ${issue?.message}`;
      return this.failJob(record, { code: 'INVALID_PAYLOAD', message, permanent: true });
    }
    const step = type.steps[index]!;
    return phase === 'do'
      ? this.runStep(job, record, type, step, parsed.data)
      : this.runUndo(job, record, type, step, parsed.data);
  }

  private log(record: JobRecord, step?: { name: string }, phase?: string): Logger {
    return this.deps.log.child({ jobId: record.id, jobType: record.type, requester: record.requester, step: step?.name, phase });
  }

  private context<P>(record: JobRecord, payload: P, attempt: number, signal: AbortSignal): StepContext<P> {
    const { store, config } = this.deps;
    const results: Record<string, StepResult> = {};
    for (const s of record.steps) if (s.result) results[s.name] = s.result;
    return {
      jobId: record.id,
      payload,
      results,
      attempt,
      adapters: this.deps.adapters,
      config,
      signal,
      // A short, renewed TTL: a SIGKILLed holder blocks the others ~3 s, not 30 s.
      idFloor: {
        get: async (name) => {
          const v = await store.redis.get(store.key.idFloor(name));
          return v === null ? null : Number(v);
        },
        set: async (name, n) => void (await store.redis.set(store.key.idFloor(name), n, 'PX', ID_FLOOR_TTL_MS)),
        lower: async (name, n) => void (await store.redis.eval(LOWER_FLOOR, 1, store.key.idFloor(name), n, ID_FLOOR_TTL_MS)),
      },
      withLock: (name, work) => withMutex(store.redis, store.key.mutex(name), { ttlMs: 3_000, waitMs: 20_000 }, work),
      saveSecret: async (name, value) => {
        await store.saveSecret(record.id, name, sealSecret(config.secrets.secretsKey, `${record.id}/${name}`, value));
      },
    };
  }

  /**
   * Runs the step at the record's cursor. `pending` are events of the step
   * before it in the same queue job (see `advance`), recorded with this one's start.
   */
  private async runStep<P>(job: Job<StepJobData>, record: JobRecord, type: JobType<P>, step: StepDef<P>, payload: P, pending: JobEvent[] = []): Promise<string> {
    const sr = record.steps[record.cursor]!;
    // The queue job's own step retries on the queue job's budget; a step that
    // followed it in the same queue job has had only its own attempts.
    const own = job.data.phase === 'do' && job.data.index === record.cursor;
    const at = now();
    sr.state = 'running';
    sr.attempts += 1;
    sr.host = this.host;
    sr.startedAt ??= at;
    record.state = 'running';
    record.startedAt ??= at;
    const attempt = sr.attempts;
    const base = { step: step.name, index: record.cursor, role: step.role, host: this.host, attempt, at };
    if (!(await this.deps.store.save(record, [...pending, { type: 'step_started', data: base }]))) return 'stale';
    const log = this.log(record, step, 'do');
    // One info line per step (at its end); the start is in the job record and its events.
    log.debug({ attempt }, 'step started');

    let outcome;
    try {
      outcome = await withTimeout(`step ${step.name}`, this.stepTimeoutMs, (signal) => step.run(this.context(record, payload, attempt, signal)));
    } catch (err) {
      const info = classify(err);
      const made = own ? job.attemptsMade : attempt - 1;
      const budgetLeft = made + 1 < (job.opts.attempts ?? 1);
      sr.error = { code: info.code, message: info.message };
      if (!info.permanent && budgetLeft) {
        sr.state = 'retrying';
        log.warn({ attempt, error: sr.error }, 'step failed, will retry');
        await this.deps.store.save(record, [{ type: 'step_retrying', data: { ...base, at: now(), error: sr.error } }]);
        // BullMQ schedules the retry with backoff. For a step that followed the
        // queue job's own, the retried queue job finds the record moved on and
        // dispatches this step as a queue job of its own (see `process`).
        throw err;
      }
      log.error({ attempt, error: sr.error }, 'step failed for good');
      return this.stepFailed(record, type, info, attempt, { job, payload });
    }
    sr.state = 'completed';
    sr.finishedAt = now();
    delete sr.error;
    if (outcome?.result) sr.result = outcome.result;
    const events: JobEvent[] = [{ type: 'step_completed', data: { ...base, at: sr.finishedAt } }];
    if (outcome?.warning) {
      sr.warning = outcome.warning;
      record.warnings.push(`${step.name}: ${outcome.warning}`);
      events.push({ type: 'warning', data: { step: step.name, message: outcome.warning, at: sr.finishedAt } });
    }
    log.info({ attempt, ms: Date.parse(sr.finishedAt) - Date.parse(at) }, 'step completed');
    return this.advance(record, type, events, { job, payload });
  }

  /** A step failed for good (permanent error, attempts spent, or given up by BullMQ). */
  private async stepFailed<P>(record: JobRecord, type: JobType<P>, info: ErrorInfo, attempt: number, carrier?: Carrier<P>): Promise<string> {
    const index = record.cursor;
    const step = type.steps[index]!;
    const sr = record.steps[index]!;
    const at = now();
    sr.state = 'failed';
    sr.finishedAt = at;
    sr.error = { code: info.code, message: info.message };
    const failed: JobEvent = { type: 'step_failed', data: { step: step.name, index, role: step.role, host: sr.host, attempt, at, error: sr.error } };
    if (step.bestEffort) {
      const message = `${step.name} failed: ${info.message}`;
      record.warnings.push(message);
      return this.advance(record, type, [failed, { type: 'warning', data: { step: step.name, message, at } }], carrier);
    }
    record.error = { ...sr.error, step: step.name };
    record.phase = 'undo';
    // A step refused on its first attempt changed nothing; anything else (a
    // timeout, a crash, a later attempt) may have half-done it, so undo it too.
    const undoSelf = !(info.permanent && attempt <= 1);
    return this.nextUndo(record, type, undoSelf ? index : index - 1, [failed]);
  }

  /**
   * Moves past a finished step: completes the job, or runs the next step right
   * here when this worker owns its role (same host: no queue round trip, and its
   * start is recorded in the same write as this step's end), or dispatches it.
   * A crash in a step run that way is recovered as any other: the queue job is
   * redelivered, finds the record moved on, and dispatches the current step.
   */
  private async advance<P>(record: JobRecord, type: JobType<P>, events: JobEvent[], carrier?: Carrier<P>): Promise<string> {
    record.cursor += 1;
    if (record.cursor >= type.steps.length) {
      record.state = 'completed';
      record.finishedAt = now();
      events.push({ type: 'completed', data: { at: record.finishedAt, warnings: record.warnings } });
      if (!(await this.deps.store.save(record, events))) return 'stale';
      this.log(record).info({ warnings: record.warnings.length }, 'job completed');
      return 'completed';
    }
    const next = record.steps[record.cursor]!;
    next.queuedAt = now();
    if (carrier && this.roles.has(next.role)) {
      return this.runStep(carrier.job, record, type, type.steps[record.cursor]!, carrier.payload, events);
    }
    if (!(await this.deps.store.save(record, events))) return 'stale';
    await this.deps.dispatcher.dispatch(record);
    return 'next';
  }

  /** Finds the next step at or below `from` that needs undoing and dispatches it, or ends the job. */
  private async nextUndo<P>(record: JobRecord, type: JobType<P>, from: number, events: JobEvent[]): Promise<string> {
    let j = from;
    while (j >= 0) {
      const s = record.steps[j]!;
      if (s.hasUndo && !s.bestEffort && (s.state === 'completed' || s.state === 'failed')) break;
      j -= 1;
    }
    if (j < 0) {
      record.state = record.undoErrors.length > 0 ? 'failed' : 'rolled_back';
      record.finishedAt = now();
      events.push({
        type: record.state,
        data: { at: record.finishedAt, error: record.error, undone: record.undone, undo_errors: record.undoErrors },
      });
      if (!(await this.deps.store.save(record, events))) return 'stale';
      this.log(record).warn({ state: record.state, error: record.error, undoErrors: record.undoErrors }, 'job ended without completing');
      return record.state;
    }
    record.cursor = j;
    record.steps[j]!.undo = { state: 'running' };
    if (!(await this.deps.store.save(record, events))) return 'stale';
    await this.deps.dispatcher.dispatch(record);
    return 'undo';
  }

  private async runUndo<P>(job: Job<StepJobData>, record: JobRecord, type: JobType<P>, step: StepDef<P>, payload: P): Promise<string> {
    const index = record.cursor;
    const sr = record.steps[index]!;
    const attempt = job.attemptsMade + 1;
    sr.state = 'undoing';
    sr.undo = { state: 'running', host: this.host, startedAt: sr.undo?.startedAt ?? now() };
    if (!(await this.deps.store.save(record))) return 'stale';
    const log = this.log(record, step, 'undo');
    try {
      await withTimeout(`undo ${step.name}`, this.stepTimeoutMs, (signal) => step.undo!(this.context(record, payload, attempt, signal)));
    } catch (err) {
      const info = classify(err);
      const error = { code: info.code, message: info.message };
      if (!info.permanent && job.attemptsMade + 1 < (job.opts.attempts ?? 1)) {
        sr.undo.error = error;
        await this.deps.store.save(record);
        log.warn({ attempt, error }, 'undo failed, will retry');
        throw err;
      }
      return this.undoFailed(record, type, error);
    }
    const at = now();
    sr.state = 'undone';
    sr.undo = { ...sr.undo, state: 'undone', finishedAt: at };
    delete sr.undo.error;
    record.undone.push(step.name);
    log.info('step undone');
    return this.nextUndo(record, type, index - 1, [{ type: 'step_undone', data: { step: step.name, index, role: step.role, host: this.host, at } }]);
  }

  /** An undo failed for good: never swallowed; the job will end `failed` listing it. */
  private async undoFailed<P>(record: JobRecord, type: JobType<P>, error: { code: string; message: string }): Promise<string> {
    const index = record.cursor;
    const sr = record.steps[index]!;
    const at = now();
    sr.state = 'undo_failed';
    sr.undo = { ...sr.undo, state: 'failed', finishedAt: at, error };
    record.undoErrors.push({ ...error, step: sr.name });
    this.log(record).error({ step: sr.name, error }, 'undo failed for good: needs a human');
    return this.nextUndo(record, type, index - 1, [{ type: 'step_undo_failed', data: { step: sr.name, index, host: this.host, at, error } }]);
  }

  /** Ends a job that cannot run at all (unknown type, invalid payload): nothing ran, nothing to undo. */
  private async failJob(record: JobRecord, info: ErrorInfo): Promise<string> {
    record.state = 'failed';
    record.finishedAt = now();
    record.error = { code: info.code, message: info.message };
    await this.deps.store.save(record, [{ type: 'failed', data: { at: record.finishedAt, error: record.error } }]);
    this.log(record).error({ error: record.error }, 'job cannot run');
    return 'failed';
  }

  /**
   * Whether the record's current step has no queue job of its own because it
   * runs in the queue job of an earlier step (`advance`), and that one is still
   * active or due to be retried (then it re-dispatches the step itself).
   */
  private async carried(record: JobRecord): Promise<boolean> {
    if (record.phase !== 'do') return false;
    for (let j = record.cursor - 1; j >= 0; j--) {
      const bull = await this.deps.dispatcher.queue(record.steps[j]!.role).getJob(stepJobId({ jobId: record.id, phase: 'do', index: j }));
      if (!bull) continue;
      // The nearest earlier step with a queue job of its own is the one that carried the rest.
      const state = await bull.getState();
      return state !== 'completed' && state !== 'failed' && state !== 'unknown';
    }
    return false;
  }

  /**
   * Safety net for what redelivery cannot fix: an unfinished job whose current
   * step job is missing (lost between record and dispatch) or was given up by
   * BullMQ (stalled more than maxStalledCount). One worker at a time does it.
   */
  async reconcile(idleMs = 60_000): Promise<number> {
    const { store, dispatcher } = this.deps;
    let fixed = 0;
    const key = store.key.mutex('reconcile');
    if ((await store.redis.set(key, this.host, 'PX', 30_000, 'NX')) !== 'OK') return 0;
    try {
      for (const id of await store.idleActive(idleMs)) {
        const record = await store.get(id);
        if (!record || isFinished(record)) continue;
        const type = this.types.get(record.type);
        const sr = record.steps[record.cursor];
        if (!type || !sr) continue;
        const data: StepJobData = { jobId: id, phase: record.phase, index: record.cursor };
        const bull = await dispatcher.queue(sr.role).getJob(stepJobId(data));
        const state = bull ? await bull.getState() : 'missing';
        if (state === 'missing' && (await this.carried(record))) continue;
        if (state === 'missing') {
          await dispatcher.dispatch(record);
          fixed += 1;
        } else if (state === 'failed') {
          const info: ErrorInfo = { code: 'JOB_STALLED', message: bull?.failedReason || 'step given up by the queue', permanent: false };
          if (record.phase === 'do') await this.stepFailed(record, type, info, sr.attempts);
          else await this.undoFailed(record, type, { code: info.code, message: info.message });
          fixed += 1;
        }
      }
    } finally {
      await store.redis.del(key);
    }
    return fixed;
  }
}
