/**
 * Progress on a terminal: the job's steps as a checklist that updates in
 * place (listr2's default renderer: a spinner while a step runs, ✔ and its
 * duration when done, the retry count and reason while it retries, ✘ with
 * the error). Each step is a listr2 task whose promise settles when the job's
 * events say the step finished: the events drive the list, listr2 only draws
 * it. When a step fails for good, the steps after it are marked not run, and
 * a last task follows the undo, marking each undone step ↶.
 */
import type { ListrTask, ListrTaskWrapper } from 'listr2';
import type { JobEventMessage } from '../job-events';
import { formatDuration, placeOf, StepClock, type JobView } from './lines';
import type { Progress } from './plain';

type Outcome = { kind: 'completed' } | { kind: 'failed'; message: string } | { kind: 'skipped' };
type Task = ListrTaskWrapper<unknown, any, any>;

interface StepState {
  name: string;
  title: string;
  bestEffort: boolean;
  place: string;
  note: string;
  output: string;
  undone: boolean;
  settled: boolean;
  outcome: Promise<Outcome>;
  resolve: (o: Outcome) => void;
  task?: Task;
}

const errorText = (e: any): string => [e?.code, e?.message].filter(Boolean).join(' ') || 'unknown error';

export class TaskListProgress implements Progress {
  private readonly steps: StepState[];
  private readonly clock = new StepClock();
  private rollingBack = false;
  private rollback?: Task;
  private finish!: (final: JobEventMessage) => void;
  private readonly finished = new Promise<JobEventMessage>((r) => (this.finish = r));
  private readonly run: Promise<unknown>;

  constructor(job: JobView) {
    const { Listr, ListrDefaultRendererLogLevels: L } = require('listr2') as typeof import('listr2');
    this.steps = job.steps.map((s) => {
      let resolve!: (o: Outcome) => void;
      const outcome = new Promise<Outcome>((r) => (resolve = r));
      return { name: s.name, title: s.title || s.name, bestEffort: Boolean(s.best_effort), place: s.host ? placeOf(s.role, s.host) : s.role, note: '', output: '', undone: false, settled: false, outcome, resolve };
    });
    const tasks: ListrTask<unknown, any, any>[] = this.steps.map((st) => ({
      title: this.label(st),
      task: async (_: unknown, task: Task) => {
        st.task = task;
        this.refresh(st);
        const o = await st.outcome;
        if (o.kind === 'failed') throw new Error(o.message);
        if (o.kind === 'skipped') task.skip(`${st.title} (not run)`);
      },
    }));
    tasks.push({
      title: 'Roll back',
      enabled: () => this.rollingBack,
      task: async (_: unknown, task: Task) => {
        this.rollback = task;
        const final = await this.finished;
        const undone = (final.data.undone ?? []) as string[];
        if (final.type === 'rolled_back') {
          task.title = `Rolled back: ${undone.length} step${undone.length === 1 ? '' : 's'} undone`;
          return;
        }
        const undoErrors = (final.data.undo_errors ?? []) as any[];
        throw new Error(undoErrors.length ? `undo failed: ${undoErrors.map((u) => `${u.step} (${errorText(u)})`).join(', ')}` : `failed: ${errorText(final.data.error)}`);
      },
    });
    const list = new Listr(tasks, {
      concurrent: false,
      exitOnError: false,
      rendererOptions: { collapseErrors: false, collapseSkips: true, suffixSkips: false, showErrorMessage: true, icon: { [L.FAILED]: '✘' } },
    });
    // The list shows failures; the exit code comes from the job's final state.
    this.run = list.run().catch(() => undefined);
  }

  private label(st: StepState): string {
    return [st.title, `(${st.place})`, st.note, st.undone ? '↶ undone' : ''].filter(Boolean).join(' ');
  }

  private refresh(st: StepState): void {
    if (!st.task) return;
    st.task.title = this.label(st);
    st.task.output = st.output;
  }

  private settle(st: StepState, o: Outcome): void {
    if (st.settled) return;
    st.settled = true;
    st.resolve(o);
  }

  /** The job turned to undo: the steps not yet run never will be. */
  private startRollback(): void {
    if (this.rollingBack) return;
    this.rollingBack = true;
    for (const s of this.steps) if (!s.task) this.settle(s, { kind: 'skipped' });
  }

  onEvent(e: JobEventMessage): void {
    const d = e.data;
    const st = typeof d.index === 'number' ? this.steps[d.index] : this.steps.find((s) => s.name === d.step);
    switch (e.type) {
      case 'step_started':
        this.clock.start(e);
        if (!st) return;
        st.place = placeOf(d.role, d.host);
        st.note = Number(d.attempt) > 1 ? `attempt ${d.attempt}` : '';
        st.output = '';
        return this.refresh(st);
      case 'step_retrying':
        if (!st) return;
        st.note = `retry ${d.attempt}`;
        st.output = `attempt ${d.attempt} failed: ${errorText(d.error)}; retrying`;
        return this.refresh(st);
      case 'step_completed': {
        if (!st) return;
        const took = this.clock.took(e);
        st.note = [took === undefined ? '' : formatDuration(took), Number(d.attempt) > 1 ? `after ${d.attempt} attempts` : ''].filter(Boolean).join(', ');
        st.output = '';
        this.refresh(st);
        return this.settle(st, { kind: 'completed' });
      }
      case 'step_failed':
        if (!st) return;
        st.note = '';
        st.output = '';
        this.refresh(st);
        this.settle(st, { kind: 'failed', message: errorText(d.error) });
        if (!st.bestEffort) this.startRollback();
        return;
      case 'warning':
        if (!st) return;
        st.note = `${st.note} ⚠ ${d.message}`.trim();
        return this.refresh(st);
      case 'step_undone':
        this.startRollback();
        if (!st) return;
        st.undone = true;
        this.refresh(st);
        if (this.rollback) this.rollback.output = `undid ${st.title} (${placeOf(d.role, d.host)})`;
        return;
      case 'step_undo_failed':
        this.startRollback();
        if (!st) return;
        st.note = `${st.note} ↶ undo failed: ${errorText(d.error)}`.trim();
        return this.refresh(st);
      case 'completed':
      case 'rolled_back':
      case 'failed':
        if (e.type !== 'completed') this.startRollback();
        for (const s of this.steps) this.settle(s, { kind: 'skipped' });
        this.finish(e);
        return;
      default:
        return;
    }
  }

  async end(): Promise<void> {
    await this.run;
  }
}
