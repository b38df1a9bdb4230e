/** Builds what a step's `run` or `undo` sees (`StepContext`, src/jobs/step.ts) from the job record. */
import type { Config } from '../config/schema';
import { PermanentError } from '../core/errors';
import type { JobRecord, StepResult } from '../core/model/job';
import type { Adapters, Coordination, JobStore, SessionRegistry } from '../core/ports';
import { openSecret, sealSecret } from '../core/secret-box';
import type { StepContext, StepDef } from '../jobs/step';
import { forEachItem } from './bulk';

export interface ContextDeps {
  config: Config;
  adapters: Adapters;
  store: JobStore;
  coordination: Coordination;
  sessions?: SessionRegistry;
}

export function stepContext<P>(deps: ContextDeps, record: JobRecord, payload: P, attempt: number, signal: AbortSignal): StepContext<P> {
  const { config, store, coordination } = deps;
  const resultIfAny = <R extends StepResult>(step: StepDef<P, R>): R | undefined => record.steps.find((s) => s.name === step.name)?.result as R | undefined;
  return {
    jobId: record.id,
    payload,
    attempt,
    adapters: deps.adapters,
    config,
    signal,
    result: <R extends StepResult>(step: StepDef<P, R>): R => {
      const r = resultIfAny(step);
      // A bug in the job type (a step reading one that has not run), not a bad request.
      if (r === undefined) throw new PermanentError('MISSING_STEP_RESULT', `${record.type}: the result of step ${step.name} is missing`);
      return r;
    },
    resultIfAny,
    withLock: (name, work) => coordination.withLock(name, work),
    revokeSessions: async (uids) => {
      if (!deps.sessions) throw new Error('this engine has no session registry');
      await deps.sessions.revoke(uids);
    },
    forEachItem: (items, work) => forEachItem(items, work, { concurrency: config.ceod.bulk_concurrency, signal }),
    idFloor: coordination.idFloors,
    saveSecret: async (name, value) => {
      await store.saveSecret(record.id, name, sealSecret(config.secrets.secretsKey, `${record.id}/${name}`, value));
    },
    secret: async (name) => {
      const sealed = (await store.secrets(record.id))[name];
      return sealed === undefined ? null : openSecret(config.secrets.secretsKey, `${record.id}/${name}`, sealed);
    },
  };
}
