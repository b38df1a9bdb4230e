/**
 * Glossary
 *
 * - **job**: one request's work (e.g. "create member alice1"), an ordered list of
 *   steps. Its record in Redis is the truth about it (`JobRecord`).
 * - **job type**: data describing a kind of job: a payload schema and its steps.
 *   One module per type in `src/jobs/`.
 * - **step**: one idempotent unit of work run on the host that owns its `role`.
 *   `run` is an *ensure* (create-if-absent, delete-if-present), `undo` reverses it.
 * - **coordinator**: the process that walks a job through its steps, dispatching
 *   each to its role's queue, and unwinds finished steps on failure (a saga).
 * - **worker**: one process per host; runs the steps of the roles it owns.
 */
import type { z } from 'zod';
import type { Config, Role } from '../config/schema';
import type { Adapters } from '../workers/adapters';

/** Whatever a step hands to later steps; plain JSON, never a secret. */
export type StepResult = Record<string, unknown>;

/** What a step's `run` or `undo` sees. */
export interface StepContext<P> {
  jobId: string;
  /** The validated payload, as given to the API (no secrets). */
  payload: P;
  /** Results of the steps finished before this one, by step name. */
  results: Readonly<Record<string, StepResult>>;
  /**
   * 1 on the first run of this step. Above 1, the step may have run before
   * (a retry, a crash, a stalled lock), so "already exists" may be its own work.
   */
  attempt: number;
  adapters: Adapters;
  config: Config;
  /** Runs `work` holding a Redis mutex shared by every host (e.g. uid number allocation). */
  withLock<T>(name: string, work: () => Promise<T>): Promise<T>;
  /**
   * A hint for id allocation, shared by every host: no number below the floor
   * was free when it was set. Lets the allocator search from the floor instead
   * of reading every number in the range. It expires (so numbers freed by hand
   * are found again within minutes) and is lowered whenever ceod frees a number.
   */
  idFloor: {
    get(name: string): Promise<number | null>;
    set(name: string, n: number): Promise<void>;
    lower(name: string, n: number): Promise<void>;
  };
  /** Stores secrets (e.g. an initial password), encrypted, for the requester. */
  saveSecret(name: string, value: string): Promise<void>;
  signal: AbortSignal;
}

/** What a step returns: a result for later steps, and optional warnings. */
export interface StepOutcome {
  result?: StepResult;
  warning?: string;
}

export interface StepDef<P> {
  name: string;
  role: Role;
  /** Human-readable line for progress displays. */
  title: (payload: P) => string;
  run: (ctx: StepContext<P>) => Promise<StepOutcome | void>;
  undo?: (ctx: StepContext<P>) => Promise<void>;
  /** A failure is reported as a warning and never rolls the job back. */
  bestEffort?: boolean;
}

export interface JobType<P = unknown> {
  name: string;
  payload: z.ZodType<P>;
  steps: StepDef<P>[];
  /** The resource a job of this type works on, e.g. `member:alice1`: one job at a time per key. */
  lockKey?: (payload: P) => string;
}

export type JobState = 'queued' | 'running' | 'completed' | 'failed' | 'rolled_back';
export type StepState = 'pending' | 'running' | 'retrying' | 'completed' | 'failed' | 'skipped' | 'undoing' | 'undone' | 'undo_failed';

export interface StepErrorInfo {
  code: string;
  message: string;
}

export interface StepRecord {
  name: string;
  role: Role;
  title: string;
  bestEffort: boolean;
  hasUndo: boolean;
  state: StepState;
  host?: string;
  attempts: number;
  /** ISO time the step was first dispatched to its queue. */
  queuedAt?: string;
  startedAt?: string;
  finishedAt?: string;
  error?: StepErrorInfo;
  warning?: string;
  undo?: { state: 'running' | 'undone' | 'failed'; host?: string; startedAt?: string; finishedAt?: string; error?: StepErrorInfo };
  result?: StepResult;
}

export interface JobRecord {
  id: string;
  /** Bumped on every write; a write from a stale copy is refused (see JobStore.save). */
  version: number;
  type: string;
  state: JobState;
  requester: string;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  payload: unknown;
  steps: StepRecord[];
  /** The coordinator's position: the next step to run, or to undo. */
  phase: 'do' | 'undo';
  cursor: number;
  warnings: string[];
  error?: StepErrorInfo & { step?: string };
  undoErrors: (StepErrorInfo & { step: string })[];
  undone: string[];
  lockKey?: string;
}
