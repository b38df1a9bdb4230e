/**
 * The engine's state machine, transition by transition, without Redis or
 * BullMQ: what each outcome does to the record, which events it appends, and
 * what the engine must do next.
 */
import { z } from 'zod';
import type { ErrorInfo } from '../../src/core/errors';
import type { JobRecord } from '../../src/core/model/job';
import type { JobType } from '../../src/jobs/step';
import { newRecord } from '../../src/jobs/submit';
import * as t from '../../src/workers/transitions';

const noop = async () => undefined;
const type: JobType<{ uid: string }> = {
  name: 'sample',
  payload: z.object({ uid: z.string() }),
  steps: [
    { name: 'a', role: 'admin', title: () => 'a', run: noop, undo: noop },
    { name: 'b', role: 'admin', title: () => 'b', run: noop },
    { name: 'mail', role: 'mail', title: () => 'mail', run: noop, bestEffort: true },
    { name: 'd', role: 'fs', title: () => 'd', run: noop, undo: noop },
  ],
};
const AT = '2026-11-30T12:00:00.000Z';
const transient: ErrorInfo = { code: 'LDAP_UNAVAILABLE', message: 'down', permanent: false };
const permanent: ErrorInfo = { code: 'LDAP_INVALID_DATA', message: 'refused', permanent: true };

const fresh = () => newRecord(type, { uid: 'alice1' }, 'ctdalek');
const started = (r: JobRecord) => t.stepStarted(r, { host: 'h1', at: AT }).record;
/** Runs steps 0 .. n-1 to completion. */
function completedUpTo(n: number): JobRecord {
  let r = fresh();
  for (let i = 0; i < n; i++) r = t.stepSucceeded(started(r), { result: { i } }, AT).record;
  return r;
}

describe('step started', () => {
  it('counts the attempt, marks the job running, appends step_started', () => {
    const r0 = fresh();
    const tr = t.stepStarted(r0, { host: 'h1', at: AT });
    expect(tr.attempt).toBe(1);
    expect(tr.record.steps[0]).toMatchObject({ state: 'running', attempts: 1, host: 'h1', startedAt: AT });
    expect(tr.record.state).toBe('running');
    expect(tr.events).toEqual([{ type: 'step_started', data: expect.objectContaining({ step: 'a', index: 0, attempt: 1, host: 'h1' }) }]);
    expect(tr.next).toEqual({ kind: 'save' });
    expect(r0.steps[0]!.state).toBe('pending'); // the input is left as it was
  });
});

describe('step ok', () => {
  it('records the result and moves to the next step', () => {
    const tr = t.stepSucceeded(started(fresh()), { result: { uidNumber: 20001 } }, AT);
    expect(tr.record.steps[0]).toMatchObject({ state: 'completed', result: { uidNumber: 20001 }, finishedAt: AT });
    expect(tr.record.cursor).toBe(1);
    expect(tr.record.steps[1]!.queuedAt).toBe(AT);
    expect(tr.next).toEqual({ kind: 'run', index: 1 });
    expect(tr.events.map((e) => e.type)).toEqual(['step_completed']);
  });
  it('a warning is kept on the step and the job, and is an event', () => {
    const tr = t.stepSucceeded(started(fresh()), { warning: 'half the mails' }, AT);
    expect(tr.record.warnings).toEqual(['a: half the mails']);
    expect(tr.events.map((e) => e.type)).toEqual(['step_completed', 'warning']);
  });
  it('the last step completes the job', () => {
    const tr = t.stepSucceeded(started(completedUpTo(3)), undefined, AT);
    expect(tr.record.state).toBe('completed');
    expect(tr.next).toEqual({ kind: 'end', state: 'completed' });
    expect(tr.events.at(-1)).toEqual({ type: 'completed', data: { at: AT, warnings: [] } });
  });
});

describe('transient retry', () => {
  it('with attempts left: the step waits to be retried, nothing is undone', () => {
    const tr = t.stepErrored(started(fresh()), { info: transient, attempt: 1, budgetLeft: true, at: AT });
    expect(tr.next).toEqual({ kind: 'save' });
    expect(tr.record.steps[0]).toMatchObject({ state: 'retrying', error: { code: 'LDAP_UNAVAILABLE', message: 'down' } });
    expect(tr.record.phase).toBe('do');
    expect(tr.events.map((e) => e.type)).toEqual(['step_retrying']);
  });
  it('past the budget it fails for good, and the step itself is undone (it may be half-done)', () => {
    const r = started(completedUpTo(1));
    const tr = t.stepErrored(r, { info: transient, attempt: 10, budgetLeft: false, at: AT });
    expect(tr.record.phase).toBe('undo');
    // b has no undo: the next undo is a's.
    expect(tr.next).toEqual({ kind: 'undo', index: 0 });
    expect(tr.record.error).toEqual({ code: 'LDAP_UNAVAILABLE', message: 'down', step: 'b' });
  });
});

describe('permanent failure → undo', () => {
  it('refused on its first attempt: only the steps before it are undone, in reverse', () => {
    const r = started(completedUpTo(3)); // a, b, mail done; d running
    const tr = t.stepErrored(r, { info: permanent, attempt: 1, budgetLeft: true, at: AT });
    expect(tr.record.steps[3]).toMatchObject({ state: 'failed', error: { code: 'LDAP_INVALID_DATA' } });
    // d is not undone (refused at once), mail is best effort, b has no undo: a is next.
    expect(tr.next).toEqual({ kind: 'undo', index: 0 });
    expect(tr.record.steps[0]!.undo).toEqual({ state: 'running' });
    expect(tr.events.map((e) => e.type)).toEqual(['step_failed']);
  });
  it('on a later attempt the failed step itself is undone first', () => {
    const r = started(started(completedUpTo(3)));
    const tr = t.stepErrored(r, { info: permanent, attempt: 2, budgetLeft: true, at: AT });
    expect(tr.next).toEqual({ kind: 'undo', index: 3 });
  });
  it('with nothing to undo the job ends rolled_back at once', () => {
    const tr = t.stepErrored(started(fresh()), { info: permanent, attempt: 1, budgetLeft: true, at: AT });
    expect(tr.next).toEqual({ kind: 'end', state: 'rolled_back' });
    expect(tr.events.map((e) => e.type)).toEqual(['step_failed', 'rolled_back']);
  });
  it('a best-effort step that fails only warns, and the job goes on', () => {
    const r = started(completedUpTo(2));
    const tr = t.stepErrored(r, { info: permanent, attempt: 1, budgetLeft: true, at: AT });
    expect(tr.record.phase).toBe('do');
    expect(tr.next).toEqual({ kind: 'run', index: 3 });
    expect(tr.record.warnings).toEqual([expect.stringContaining('mail failed')]);
    expect(tr.events.map((e) => e.type)).toEqual(['step_failed', 'warning']);
  });
});

describe('undo', () => {
  const undoing = () => {
    const failed = t.stepErrored(started(started(completedUpTo(3))), { info: permanent, attempt: 2, budgetLeft: true, at: AT }).record;
    return t.undoStarted(failed, { host: 'h2', at: AT }).record;
  };
  it('undone: recorded, and on to the next undo below', () => {
    const tr = t.undoSucceeded(undoing(), AT);
    expect(tr.record.steps[3]).toMatchObject({ state: 'undone', undo: { state: 'undone', host: 'h2' } });
    expect(tr.record.undone).toEqual(['d']);
    expect(tr.next).toEqual({ kind: 'undo', index: 0 });
    expect(tr.events.map((e) => e.type)).toEqual(['step_undone']);
  });
  it('the last undo ends the job rolled_back', () => {
    let r = t.undoSucceeded(undoing(), AT).record;
    r = t.undoStarted(r, { host: 'h1', at: AT }).record;
    const tr = t.undoSucceeded(r, AT);
    expect(tr.next).toEqual({ kind: 'end', state: 'rolled_back' });
    expect(tr.record.undone).toEqual(['d', 'a']);
  });
  it('a transient undo failure with attempts left is retried', () => {
    const tr = t.undoErrored(undoing(), { info: transient, budgetLeft: true, at: AT });
    expect(tr.next).toEqual({ kind: 'save' });
    expect(tr.record.steps[3]!.undo).toMatchObject({ state: 'running', error: { code: 'LDAP_UNAVAILABLE' } });
  });
  it('an undo failure is never swallowed: listed, the other undos still run, the job ends failed', () => {
    const tr = t.undoErrored(undoing(), { info: permanent, budgetLeft: true, at: AT });
    expect(tr.record.steps[3]).toMatchObject({ state: 'undo_failed', undo: { state: 'failed', error: { code: 'LDAP_INVALID_DATA' } } });
    expect(tr.record.undoErrors).toEqual([{ code: 'LDAP_INVALID_DATA', message: 'refused', step: 'd' }]);
    expect(tr.next).toEqual({ kind: 'undo', index: 0 });
    let r = t.undoStarted(tr.record, { host: 'h1', at: AT }).record;
    const end = t.undoSucceeded(r, AT);
    expect(end.next).toEqual({ kind: 'end', state: 'failed' });
    expect(end.events.at(-1)!.type).toBe('failed');
  });
});

describe('stale redelivery', () => {
  it('a queue job for a position the record has moved past is not current', () => {
    const r = completedUpTo(2);
    expect(t.isCurrent(r, { phase: 'do', index: 2 })).toBe(true);
    expect(t.isCurrent(r, { phase: 'do', index: 1 })).toBe(false);
    expect(t.isCurrent(r, { phase: 'undo', index: 2 })).toBe(false);
  });
});

describe('a job that cannot run', () => {
  it('fails at once, with nothing to undo', () => {
    const tr = t.jobCannotRun(fresh(), { code: 'UNKNOWN_JOB_TYPE', message: 'no job type x', permanent: true }, AT);
    expect(tr.record).toMatchObject({ state: 'failed', error: { code: 'UNKNOWN_JOB_TYPE' } });
    expect(tr.next).toEqual({ kind: 'end', state: 'failed' });
  });
});

describe('purity', () => {
  const deepFreeze = <T>(o: T): T => {
    if (o && typeof o === 'object') {
      for (const v of Object.values(o)) deepFreeze(v);
      Object.freeze(o);
    }
    return o;
  };
  it('never changes the record it is given (every input deep-frozen, so a write would throw)', () => {
    let r = deepFreeze(fresh());
    const step = <X extends { record: JobRecord }>(x: X) => ((r = deepFreeze(x.record)), x);
    step(t.stepStarted(r, { host: 'h', at: AT }));
    step(t.stepSucceeded(r, { result: { n: 1 }, warning: 'w' }, AT));
    step(t.stepStarted(r, { host: 'h', at: AT }));
    step(t.stepErrored(r, { info: transient, attempt: 1, budgetLeft: true, at: AT }));
    step(t.stepStarted(r, { host: 'h', at: AT }));
    step(t.stepErrored(r, { info: permanent, attempt: 2, budgetLeft: true, at: AT }));
    step(t.undoStarted(r, { host: 'h', at: AT }));
    step(t.undoErrored(r, { info: transient, budgetLeft: true, at: AT }));
    const end = step(t.undoErrored(r, { info: permanent, budgetLeft: false, at: AT }));
    expect(end.next).toEqual({ kind: 'end', state: 'failed' });
    expect(r.steps.map((s) => s.state)).toEqual(['undo_failed', 'failed', 'pending', 'pending']);
  });
});
