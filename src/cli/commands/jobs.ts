/** `ceo jobs list|get|watch` (docs/api.md#list-jobs, docs/api.md#job-status, docs/api.md#events). */
import type { Command } from 'commander';
import type { Context } from '../context';
import { CliError, EXIT } from '../errors';
import { fields, shortTime, table } from '../format';
import { watchJob } from '../job-runner';
import { formatDuration, placeOf, type JobView } from '../progress/lines';
import { group, leaf, readLeaf, seg } from './define';

const UNITS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `--since`: an ISO time, or an age like `30m`, `12h`, `7d`, `2w`. */
export function sinceOf(value: string, now: Date): string {
  const m = /^(\d+)\s*([mhdw])$/.exec(value.trim());
  if (m) return new Date(now.getTime() - Number(m[1]) * UNITS[m[2]!]!).toISOString();
  if (Number.isNaN(Date.parse(value))) throw new CliError(`--since: not a time or an age (e.g. 2026-09-01T00:00:00Z, 12h, 7d): ${value}`, EXIT.usage);
  return new Date(value).toISOString(); // the API wants a full ISO time; `2026-09-01` is its midnight UTC
}

interface JobSummary {
  id: string;
  type: string;
  state: string;
  requester: string;
  created_at: string;
  finished_at?: string;
  subject: string;
}

function jobLines(job: JobView): string[] {
  const lines = fields([
    ['job', job.id],
    ['type', job.type],
    ['state', job.state],
    ['requester', job.requester],
    ['created', shortTime(job.created_at)],
    ['finished', shortTime(job.finished_at)],
  ]);
  lines.push(
    ...table(
      ['STEP', 'WHERE', 'STATE', 'TRIES', 'TOOK', 'ERROR / UNDO'],
      job.steps.map((s: any) => [
        s.name,
        s.host ? placeOf(s.role, s.host) : s.role,
        s.state,
        s.attempts || '',
        typeof s.duration_ms === 'number' ? formatDuration(s.duration_ms) : '',
        [s.error ? `${s.error.code} ${s.error.message}` : '', s.undo ? `undo ${s.undo.state}${s.undo.error ? `: ${s.undo.error.code}` : ''}` : ''].filter(Boolean).join('; '),
      ]),
    ).map((l) => `  ${l}`),
  );
  if (job.error) lines.push(`error: ${job.error.code} ${job.error.message}${job.error.step ? ` (step ${job.error.step})` : ''}`);
  for (const w of job.warnings ?? []) lines.push(`warning: ${w}`);
  return lines;
}

export function registerJobs(ctx: Context, program: Command): void {
  const jobs = group(program, 'jobs', 'jobs: list yours (staff: everyone\'s), show one, follow one');

  leaf(jobs, 'list', 'list jobs, newest first (yours; staff see everyone\'s)', async (_, o) => {
    const q: Record<string, string> = { limit: String(o.limit) };
    for (const k of ['requester', 'type', 'state'] as const) if (o[k]) q[k] = o[k];
    if (o.since) q.since = sinceOf(o.since, ctx.now());
    if (o.cursor) q.cursor = o.cursor;
    const all: JobSummary[] = [];
    let next: string | undefined;
    do {
      const page = await ctx.client().request<{ jobs: JobSummary[]; next?: string }>('GET', `/api/jobs?${new URLSearchParams({ ...q, ...(next ? { cursor: next } : {}) })}`);
      all.push(...page.jobs);
      next = page.next;
    } while (o.all && next);
    if (o.json) ctx.out(JSON.stringify({ jobs: all, ...(next ? { next } : {}) }, null, 2));
    else {
      if (!all.length) ctx.out('no jobs');
      else for (const l of table(['CREATED (UTC)', 'STATE', 'TYPE', 'SUBJECT', 'REQUESTER', 'ID'], all.map((j) => [shortTime(j.created_at), j.state, j.type, j.subject, j.requester, j.id]))) ctx.out(l);
      if (next) ctx.out(`more: ceo jobs list --cursor ${next} (or --all)`);
    }
    return EXIT.ok;
  })
    .option('--requester <uid>', "only this user's jobs (staff)")
    .option('--type <type>', 'only jobs of this type, e.g. create_member')
    .option('--state <state>', 'queued, running, completed, failed or rolled_back')
    .option('--since <time>', 'created since an ISO time or an age (30m, 12h, 7d, 2w)')
    .option('--limit <n>', 'jobs per page (1–100)', '20')
    .option('--cursor <next>', 'the page after this one (from "more:")')
    .option('--all', 'every page');

  readLeaf(ctx, jobs, 'get <id>', 'show a job: each step, where it ran, its state, tries, time and error', ([id]) => `/api/jobs/${seg(id)}`, jobLines);

  leaf(jobs, 'watch <id>', 'follow a job live (or replay a finished one) and exit by its outcome', async ([id], o) => watchJob(ctx, id!, o));
}

