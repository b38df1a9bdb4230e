/**
 * A `StepContext` for unit tests of job steps: fake adapters and config in,
 * results of earlier steps by step name, the engine's real `forEachItem`.
 */
import { PermanentError } from '../../src/core/errors';
import type { StepResult } from '../../src/core/model/job';
import type { StepContext, StepDef } from '../../src/jobs/step';
import { forEachItem } from '../../src/workers/bulk';

export interface FakeContextOptions<P> {
  payload: P;
  /** Results of the steps that ran before, by step name. */
  results?: Record<string, StepResult>;
  attempt?: number;
  adapters?: unknown;
  config?: unknown;
  jobId?: string;
  /** Secrets the step saved, by name (filled in by `saveSecret`). */
  secrets?: Record<string, string>;
  /** Uids whose sessions the step revoked (filled in by `revokeSessions`). */
  revoked?: string[];
}

export function fakeStepContext<P>(o: FakeContextOptions<P>): StepContext<P> {
  const results = o.results ?? {};
  const resultIfAny = <R extends StepResult>(step: StepDef<P, R>): R | undefined => results[step.name] as R | undefined;
  const signal = new AbortController().signal;
  return {
    jobId: o.jobId ?? 'j1',
    payload: o.payload,
    attempt: o.attempt ?? 1,
    adapters: o.adapters as never,
    config: o.config as never,
    signal,
    result: <R extends StepResult>(step: StepDef<P, R>): R => {
      const r = resultIfAny(step);
      if (r === undefined) throw new PermanentError('MISSING_STEP_RESULT', `the result of step ${step.name} is missing`);
      return r;
    },
    resultIfAny,
    withLock: async <T>(_name: string, work: () => Promise<T>) => work(),
    forEachItem: (items, work) => forEachItem(items, work, { concurrency: 4, signal }),
    idFloor: { get: async () => null, set: async () => undefined, lower: async () => undefined },
    revokeSessions: async (uids) => void o.revoked?.push(...uids),
    saveSecret: async (name, value) => {
      if (o.secrets) o.secrets[name] = value;
    },
    secret: async (name) => o.secrets?.[name] ?? null,
  };
}
