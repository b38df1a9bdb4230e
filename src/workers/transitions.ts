/**
 * The engine's state machine, as pure functions: a job record and what just
 * happened (a step started, finished, failed; an undo …) → the new record, the
 * events to append, and what the engine must do next. No I/O here: the runner
 * (`./runner.ts`) saves the record with its events (compare-and-set), runs
 * steps and dispatches. See docs/ARCHITECTURE.md#jobs-and-the-engine.
 *
 * Every function returns a new record; the one it was given is left as it was
 * (a shallow copy: the arrays it changes and the step it changes are new).
 */
import type { ErrorInfo } from '../core/errors';
import type { JobEvent, JobRecord, JobState, StepErrorInfo, StepRecord, StepResult } from '../core/model/job';

/** What the engine does after a transition. */
export type Next =
  /** Nothing more: the record and events are to be saved (a start, or a retry the queue schedules). */
  | { kind: 'save' }
  /** Run the step at `index` next: right here if this worker may carry it, else dispatch it to its role. */
  | { kind: 'run'; index: number }
  /** Dispatch the undo of the step at `index`. */
  | { kind: 'undo'; index: number }
  /** The job ended. */
  | { kind: 'end'; state: Extract<JobState, 'completed' | 'failed' | 'rolled_back'> };

export interface Transition {
  record: JobRecord;
  events: JobEvent[];
  next: Next;
}

/** Where a queue job points: a step (or undo) of a job. */
export interface Position {
  phase: 'do' | 'undo';
  index: number;
}

/** Whether a queue job for `pos` is the record's current position; if not, it is a stale redelivery. */
export function isCurrent(record: JobRecord, pos: Position): boolean {
  return record.phase === pos.phase && record.cursor === pos.index;
}

const copy = (r: JobRecord): JobRecord => ({ ...r, steps: [...r.steps], warnings: [...r.warnings], undone: [...r.undone], undoErrors: [...r.undoErrors] });
/** The step at `i` of a copied record, itself copied so it may be changed. */
const stepOf = (r: JobRecord, i: number): StepRecord => (r.steps[i] = { ...r.steps[i]! });
const errorOf = (info: ErrorInfo): StepErrorInfo => ({ code: info.code, message: info.message });

/** The step at the cursor starts (attempt + 1) on `host`. */
export function stepStarted(record: JobRecord, at: { host: string; at: string }): Transition & { attempt: number } {
  const r = copy(record);
  const sr = stepOf(r, r.cursor);
  sr.state = 'running';
  sr.attempts += 1;
  sr.host = at.host;
  sr.startedAt ??= at.at;
  r.state = 'running';
  r.startedAt ??= at.at;
  const event: JobEvent = { type: 'step_started', data: { step: sr.name, index: r.cursor, role: sr.role, host: at.host, attempt: sr.attempts, at: at.at } };
  return { record: r, events: [event], next: { kind: 'save' }, attempt: sr.attempts };
}

/** The step at the cursor finished; moves past it. */
export function stepSucceeded(record: JobRecord, outcome: { result?: StepResult; warning?: string } | void, at: string): Transition {
  const r = copy(record);
  const sr = stepOf(r, r.cursor);
  sr.state = 'completed';
  sr.finishedAt = at;
  delete sr.error;
  if (outcome?.result) sr.result = outcome.result;
  const events: JobEvent[] = [{ type: 'step_completed', data: { step: sr.name, index: r.cursor, role: sr.role, host: sr.host, attempt: sr.attempts, at } }];
  if (outcome?.warning) {
    sr.warning = outcome.warning;
    r.warnings.push(`${sr.name}: ${outcome.warning}`);
    events.push({ type: 'warning', data: { step: sr.name, message: outcome.warning, at } });
  }
  return advance(r, events, at);
}

/**
 * The step at the cursor threw. A transient error with attempts left is
 * retried (the queue schedules it); anything else fails the step for good.
 */
export function stepErrored(record: JobRecord, e: { info: ErrorInfo; attempt: number; budgetLeft: boolean; at: string }): Transition {
  if (!e.info.permanent && e.budgetLeft) {
    const r = copy(record);
    const sr = stepOf(r, r.cursor);
    sr.state = 'retrying';
    sr.error = errorOf(e.info);
    const data = { step: sr.name, index: r.cursor, role: sr.role, host: sr.host, attempt: e.attempt, at: e.at, error: sr.error };
    return { record: r, events: [{ type: 'step_retrying', data }], next: { kind: 'save' } };
  }
  return stepFailed(record, e.info, e.attempt, e.at);
}

/**
 * The step at the cursor failed for good (permanent error, attempts spent, or
 * given up by the queue). A best-effort step only adds a warning; any other
 * starts the undo phase.
 */
export function stepFailed(record: JobRecord, info: ErrorInfo, attempt: number, at: string): Transition {
  const r = copy(record);
  const index = r.cursor;
  const sr = stepOf(r, index);
  sr.state = 'failed';
  sr.finishedAt = at;
  sr.error = errorOf(info);
  const failed: JobEvent = { type: 'step_failed', data: { step: sr.name, index, role: sr.role, host: sr.host, attempt, at, error: sr.error } };
  if (sr.bestEffort) {
    const message = `${sr.name} failed: ${info.message}`;
    r.warnings.push(message);
    return advance(r, [failed, { type: 'warning', data: { step: sr.name, message, at } }], at);
  }
  r.error = { ...sr.error, step: sr.name };
  r.phase = 'undo';
  // A step refused on its first attempt changed nothing; anything else (a
  // timeout, a crash, a later attempt) may have half-done it, so undo it too.
  const undoSelf = !(info.permanent && attempt <= 1);
  return nextUndo(r, undoSelf ? index : index - 1, [failed], at);
}

/** Moves the cursor past a finished step: the next step runs, or the job completes. */
function advance(r: JobRecord, events: JobEvent[], at: string): Transition {
  r.cursor += 1;
  if (r.cursor >= r.steps.length) {
    r.state = 'completed';
    r.finishedAt = at;
    events.push({ type: 'completed', data: { at, warnings: r.warnings } });
    return { record: r, events, next: { kind: 'end', state: 'completed' } };
  }
  stepOf(r, r.cursor).queuedAt = at;
  return { record: r, events, next: { kind: 'run', index: r.cursor } };
}

/** Finds the next step at or below `from` that needs undoing, or ends the job. `r` is already a copy. */
function nextUndo(r: JobRecord, from: number, events: JobEvent[], at: string): Transition {
  let j = from;
  while (j >= 0) {
    const s = r.steps[j]!;
    if (s.hasUndo && !s.bestEffort && (s.state === 'completed' || s.state === 'failed')) break;
    j -= 1;
  }
  if (j < 0) {
    const state = r.undoErrors.length > 0 ? 'failed' : 'rolled_back';
    r.state = state;
    r.finishedAt = at;
    events.push({ type: state, data: { at, error: r.error, undone: r.undone, undo_errors: r.undoErrors } });
    return { record: r, events, next: { kind: 'end', state } };
  }
  r.cursor = j;
  stepOf(r, j).undo = { state: 'running' };
  return { record: r, events, next: { kind: 'undo', index: j } };
}

/** The undo of the step at the cursor starts on `host`. */
export function undoStarted(record: JobRecord, at: { host: string; at: string }): Transition {
  const r = copy(record);
  const sr = stepOf(r, r.cursor);
  sr.state = 'undoing';
  sr.undo = { state: 'running', host: at.host, startedAt: sr.undo?.startedAt ?? at.at };
  return { record: r, events: [], next: { kind: 'save' } };
}

/** The undo at the cursor finished; on to the next one below it. */
export function undoSucceeded(record: JobRecord, at: string): Transition {
  const r = copy(record);
  const index = r.cursor;
  const sr = stepOf(r, index);
  sr.state = 'undone';
  sr.undo = { ...sr.undo, state: 'undone', finishedAt: at };
  delete sr.undo.error;
  r.undone.push(sr.name);
  const event: JobEvent = { type: 'step_undone', data: { step: sr.name, index, role: sr.role, host: sr.undo.host, at } };
  return nextUndo(r, index - 1, [event], at);
}

/** The undo at the cursor threw: retried while transient with attempts left, else failed for good. */
export function undoErrored(record: JobRecord, e: { info: ErrorInfo; budgetLeft: boolean; at: string }): Transition {
  if (!e.info.permanent && e.budgetLeft) {
    const r = copy(record);
    const sr = stepOf(r, r.cursor);
    sr.undo = { ...sr.undo!, error: errorOf(e.info) };
    return { record: r, events: [], next: { kind: 'save' } };
  }
  return undoFailed(record, errorOf(e.info), e.at);
}

/** An undo failed for good: never swallowed; the job will end `failed`, listing it (a human must look). */
export function undoFailed(record: JobRecord, error: StepErrorInfo, at: string): Transition {
  const r = copy(record);
  const index = r.cursor;
  const sr = stepOf(r, index);
  sr.state = 'undo_failed';
  sr.undo = { ...sr.undo, state: 'failed', finishedAt: at, error };
  r.undoErrors.push({ ...error, step: sr.name });
  const event: JobEvent = { type: 'step_undo_failed', data: { step: sr.name, index, host: sr.undo.host, at, error } };
  return nextUndo(r, index - 1, [event], at);
}

/** A job that cannot run at all (unknown type, invalid payload): nothing ran, nothing to undo. */
export function jobCannotRun(record: JobRecord, info: ErrorInfo, at: string): Transition {
  const r = copy(record);
  r.state = 'failed';
  r.finishedAt = at;
  r.error = errorOf(info);
  return { record: r, events: [{ type: 'failed', data: { at, error: r.error } }], next: { kind: 'end', state: 'failed' } };
}
