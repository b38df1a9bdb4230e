/**
 * What a job type is made of: a payload schema, a lock key and steps, as data
 * (docs/jobs.md). The engine (`src/workers`) interprets every type alike; a
 * job type never has its own loop. Glossary: `src/core/model/job.ts`.
 */
import type { z } from 'zod';
import type { Config } from '../config/schema';
import type { ErrorInfo } from '../core/errors';
import type { StepResult } from '../core/model/job';
import type { Role } from '../core/model/roles';
import type { Adapters, IdFloors } from '../core/ports';

/** What a step's `run` or `undo` sees. */
export interface StepContext<P> {
  jobId: string;
  /** The validated payload, as given to the API (no secrets). */
  payload: P;
  /**
   * 1 on the first run of this step. Above 1, the step may have run before
   * (a retry, a crash, a stalled lock), so "already exists" may be its own work.
   */
  attempt: number;
  adapters: Adapters;
  config: Config;
  /**
   * The result an earlier step of this job recorded. A step that reads the
   * result of one that has not finished is a bug in the job type: that is an
   * internal error (MISSING_STEP_RESULT), never the caller's.
   */
  result<R extends StepResult>(step: StepDef<P, R>): R;
  /** The result, if the step recorded one: for undos, which may run for a step that never finished. */
  resultIfAny<R extends StepResult>(step: StepDef<P, R>): R | undefined;
  /** Runs `work` holding a Redis mutex shared by every host (e.g. uid number allocation). */
  withLock<T>(name: string, work: () => Promise<T>): Promise<T>;
  /**
   * A hint for id allocation, shared by every host: no number below the floor
   * was free when it was set (docs/directory.md#uid-numbers).
   */
  idFloor: IdFloors;
  /**
   * Runs `work` over many items, a few at a time (bulk jobs). A permanent error
   * is that item's outcome; a transient one fails the whole step, which is
   * retried: each item's work must be an ensure.
   */
  forEachItem<T, O>(items: readonly T[], work: (item: T) => Promise<O>): Promise<ItemOutcome<O>[]>;
  /**
   * Ends every API session of these users at once (docs/authorization.md#sessions):
   * after a password reset, a deletion, an expiry, or leaving a staff group.
   */
  revokeSessions(uids: readonly string[]): Promise<void>;
  /** Stores a secret (e.g. an initial password), sealed, for the requester. */
  saveSecret(name: string, value: string): Promise<void>;
  /**
   * A secret an earlier step of this job saved, opened (null if none): for a
   * later step that must hand it on, e.g. into a member's info file. Never put
   * it in a result or a message.
   */
  secret(name: string): Promise<string | null>;
  signal: AbortSignal;
}

/** What one item of a bulk step came to: its value, or the permanent error that refused it. */
export type ItemOutcome<O> = { ok: true; value: O } | { ok: false; error: ErrorInfo };

/** What a step returns: a result for later steps (plain JSON, never a secret), and an optional warning. */
export interface StepOutcome<R extends StepResult | void> {
  result?: R;
  warning?: string;
}

export interface StepDef<P, R extends StepResult | void = StepResult | void> {
  name: string;
  role: Role;
  /** Human-readable line for progress displays. */
  title: (payload: P) => string;
  run: (ctx: StepContext<P>) => Promise<StepOutcome<R> | void>;
  undo?: (ctx: StepContext<P>) => Promise<void>;
  /** A failure is reported as a warning and never rolls the job back. */
  bestEffort?: boolean;
}

/** Declares a step; `R` is the type of the result later steps read with `ctx.result(step)`. */
export function step<P, R extends StepResult | void = void>(def: StepDef<P, R>): StepDef<P, R> {
  return def;
}

export interface JobType<P = unknown> {
  name: string;
  payload: z.ZodType<P>;
  // Each step has its own result type; the engine treats them alike.
  steps: StepDef<P, any>[];
  /** The resource a job of this type works on, e.g. `member:alice1`: one job at a time per key. */
  lockKey?: (payload: P) => string;
}
