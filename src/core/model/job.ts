/**
 * Glossary (docs/jobs.md)
 *
 * - **job**: one request's work (e.g. "create member alice1"), an ordered list of
 *   steps. Its record in Redis is the truth about it (`JobRecord`).
 * - **job type**: data describing a kind of job: a payload schema, a lock key
 *   and its steps. One module per type in `src/jobs/`.
 * - **step**: one idempotent unit of work run on the host that owns its `role`.
 *   `run` is an *ensure* (create-if-absent, delete-if-present), `undo` reverses it.
 * - **engine**: the workers' runner (`src/workers/`), which walks a job through
 *   its steps, dispatching each to its role's queue, and unwinds finished steps
 *   on failure (a saga).
 * - **worker**: one process per host; runs the steps of the roles it owns.
 * - **event**: one step transition, appended to the job's event stream; what
 *   `GET /api/jobs/:id/events` streams (docs/api.md#events).
 */
import type { Role } from './roles';

export type JobState = 'queued' | 'running' | 'completed' | 'failed' | 'rolled_back';
export type StepState = 'pending' | 'running' | 'retrying' | 'completed' | 'failed' | 'undoing' | 'undone' | 'undo_failed';

/** Whatever a step hands to later steps; plain JSON, never a secret. */
export type StepResult = Record<string, unknown>;

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
  /** The engine's position: the next step to run, or to undo. */
  phase: 'do' | 'undo';
  cursor: number;
  warnings: string[];
  error?: StepErrorInfo & { step?: string };
  undoErrors: (StepErrorInfo & { step: string })[];
  undone: string[];
  lockKey?: string;
}

export const FINISHED_STATES: ReadonlySet<JobState> = new Set(['completed', 'failed', 'rolled_back']);

export const isFinished = (r: Pick<JobRecord, 'state'>): boolean => FINISHED_STATES.has(r.state);

export type JobEventType =
  | 'queued'
  | 'step_started'
  | 'step_retrying'
  | 'step_completed'
  | 'step_failed'
  | 'step_undone'
  | 'step_undo_failed'
  | 'warning'
  | 'completed'
  | 'failed'
  | 'rolled_back';

/** The events that end a job's stream. */
export const FINAL_EVENTS: ReadonlySet<string> = new Set(['completed', 'failed', 'rolled_back']);

export interface JobEvent {
  type: JobEventType;
  data: Record<string, unknown>;
}

/** An event as stored: its id is the SSE event id (`Last-Event-ID` resumes after it). */
export interface StoredEvent extends JobEvent {
  id: string;
}
