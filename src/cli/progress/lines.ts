/**
 * A job's events as words, shared by the plain output (one line per event,
 * for logs and pipes) and the checklist on a terminal. Pure: no I/O.
 */
import type { JobEventMessage } from '../job-events';

/** A step as `GET /api/jobs/:id` lists it. */
export interface StepView {
  name: string;
  title: string;
  role: string;
  host?: string;
  state?: string;
  best_effort?: boolean;
  duration_ms?: number;
  attempts?: number;
  error?: { code: string; message: string };
}

/** The job view of `GET /api/jobs/:id`, as much as the client reads. */
export interface JobView {
  id: string;
  type: string;
  state: string;
  requester: string;
  created_at?: string;
  finished_at?: string;
  steps: StepView[];
  warnings?: string[];
  error?: { code: string; message: string; step?: string };
  undone?: string[];
  undo_errors?: { code: string; message: string; step: string }[];
  result?: Record<string, unknown>;
  payload?: unknown;
}

/** The database servers as the API names them (`/api/db/<kind>/…`, a database job's `payload.kind`), and as people do. */
export const DATABASE_NAMES = { mysql: 'MySQL', postgresql: 'PostgreSQL' } as const;
export type DatabaseKind = keyof typeof DATABASE_NAMES;

/** Where a database job writes the password for the account (docs/jobs.md#the-database-info-file): `~alice1/ceo-mysql-info`. */
export const infoFilePath = (uid: string, kind: DatabaseKind): string => `~${uid}/ceo-${kind}-info`;

const isDatabaseKind = (k: unknown): k is DatabaseKind => typeof k === 'string' && Object.hasOwn(DATABASE_NAMES, k);

/** `phosphoric-acid.csclub.internal` → `phosphoric-acid`. */
export const shortHost = (host: unknown): string => (typeof host === 'string' && host ? host.split('.')[0]! : '?');

/** Where a step runs: `admin@phosphoric-acid`. */
export const placeOf = (role: unknown, host: unknown): string => `${typeof role === 'string' ? role : '?'}@${shortHost(host)}`;

export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

const errorText = (e: unknown): string => {
  const x = e as { code?: string; message?: string } | undefined;
  if (!x) return 'unknown error';
  return [x.code, x.message].filter(Boolean).join(' ');
};

/**
 * Remembers when each step started, so a completion can say how long it took
 * (the events carry times, not durations).
 */
export class StepClock {
  private readonly started = new Map<number, number>();
  start(e: JobEventMessage): void {
    this.started.set(Number(e.data.index), Date.parse(String(e.data.at)));
  }
  /** Milliseconds since the step's start, or undefined if its start was not seen. */
  took(e: JobEventMessage): number | undefined {
    const from = this.started.get(Number(e.data.index));
    const to = Date.parse(String(e.data.at));
    return from === undefined || Number.isNaN(from) || Number.isNaN(to) ? undefined : to - from;
  }
}

/** One plain line for an event (no colour, no terminal control): what the non-TTY output prints. */
export function eventLine(e: JobEventMessage, clock: StepClock): string {
  const d = e.data;
  const attempt = Number(d.attempt) > 1 ? ` attempt ${d.attempt}` : '';
  switch (e.type) {
    case 'queued':
      return `queued ${d.type ?? ''}${d.requester ? ` (requested by ${d.requester})` : ''}`.trimEnd();
    case 'step_started':
      clock.start(e);
      return `step_started ${d.step} (${placeOf(d.role, d.host)})${attempt}`;
    case 'step_retrying':
      return `step_retrying ${d.step} (${placeOf(d.role, d.host)}) attempt ${d.attempt} failed: ${errorText(d.error)}; retrying`;
    case 'step_completed': {
      const took = clock.took(e);
      return `step_completed ${d.step}${took === undefined ? '' : ` ${formatDuration(took)}`}`;
    }
    case 'step_failed':
      return `step_failed ${d.step} (${placeOf(d.role, d.host)}): ${errorText(d.error)}`;
    case 'warning':
      return `warning ${d.step ?? ''}: ${d.message ?? ''}`;
    case 'step_undone':
      return `step_undone ${d.step} (${placeOf(d.role, d.host)})`;
    case 'step_undo_failed':
      return `step_undo_failed ${d.step} (${placeOf('undo', d.host)}): ${errorText(d.error)}`;
    case 'completed': {
      const n = Array.isArray(d.warnings) ? d.warnings.length : 0;
      return `completed${n ? ` with ${n} warning${n === 1 ? '' : 's'}` : ''}`;
    }
    case 'rolled_back':
    case 'failed': {
      const where = d.error?.step ? ` in ${d.error.step}` : '';
      const undone = Array.isArray(d.undone) && d.undone.length ? `; undone: ${d.undone.join(', ')}` : '';
      const undoErrors = Array.isArray(d.undo_errors) && d.undo_errors.length ? `; undo failed: ${d.undo_errors.map((u: { step: string } & object) => `${u.step} (${errorText(u)})`).join(', ')}` : '';
      return `${e.type}: ${errorText(d.error)}${where}${undone}${undoErrors}`;
    }
    default:
      return `${e.type} ${JSON.stringify(d)}`;
  }
}

/**
 * The job's outcome, once, after its events: the final state and the result
 * the requester should see (e.g. a new member's initial password). Values
 * that are neither short nor scalar stay in `ceo jobs get <id> --json`.
 */
export function resultLines(job: JobView): string[] {
  const lines: string[] = [];
  const took = job.created_at && job.finished_at ? ` in ${formatDuration(Date.parse(job.finished_at) - Date.parse(job.created_at))}` : '';
  lines.push(`job ${job.id} ${job.state}${took}`);
  if (job.state !== 'completed' && job.error) lines.push(`error: ${errorText(job.error)}${job.error.step ? ` (step ${job.error.step})` : ''}`);
  for (const u of job.undo_errors ?? []) lines.push(`undo failed: ${u.step}: ${errorText(u)} — needs a human`);
  for (const w of job.warnings ?? []) lines.push(`warning: ${w}`);
  // What a job that did not complete made was undone: its results are no longer true.
  const result = job.state === 'completed' ? (job.result ?? {}) : {};
  if (typeof result.password === 'string') lines.push(passwordLine(job, result.password));
  for (const [k, v] of Object.entries(result)) {
    if (k === 'password') continue;
    const text = typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? String(v) : Array.isArray(v) && v.every((x) => typeof x !== 'object') ? v.join(', ') : undefined;
    if (text !== undefined && text !== '' && text.length <= 200) lines.push(`${k}: ${text}`);
  }
  return lines;
}

/** The password a job made, as its requester needs to hear it: a member's initial one, or a database user's and where the member finds it. */
function passwordLine(job: JobView, password: string): string {
  const p = (job.payload ?? {}) as { uid?: unknown; kind?: unknown };
  const uid = typeof p.uid === 'string' ? p.uid : undefined;
  if (uid && isDatabaseKind(p.kind) && (job.type === 'create_database' || job.type === 'reset_database_password')) {
    return `${DATABASE_NAMES[p.kind]} password for ${uid}: ${password}  (also in ${infoFilePath(uid, p.kind)})`;
  }
  return `initial password${uid ? ` for ${uid}` : ''}: ${password}  (to be changed at the first login)`;
}
