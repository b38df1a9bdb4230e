/**
 * What every write command does after its request: the API answers 202 with
 * the job; the client reads the job's steps, follows its events with live
 * progress (a checklist on a terminal, a line per event otherwise, nothing
 * with --json), then prints the outcome once and exits 0 if the job
 * completed, 1 if it failed or rolled back.
 */
import type { Context } from './context';
import { EXIT, type ExitCode } from './errors';
import { followJobEvents } from './job-events';
import { type JobView, resultLines } from './progress/lines';
import { PlainProgress, type Progress } from './progress/plain';

export interface OutputOptions {
  json?: boolean;
}

export interface WriteOptions extends OutputOptions {
  /** false with --no-wait: print the job id and return at once. */
  wait?: boolean;
}

export const exitOfState = (state: string): ExitCode => (state === 'completed' ? EXIT.ok : EXIT.failed);

/** Follows a job to its end with progress; prints the outcome; answers the exit code. */
export async function watchJob(ctx: Context, id: string, opts: OutputOptions): Promise<ExitCode> {
  const client = ctx.client();
  const job = await client.request<JobView>('GET', `/api/jobs/${encodeURIComponent(id)}`);
  let progress: Progress | undefined;
  if (!opts.json) {
    if (ctx.stdoutIsTTY) {
      ctx.out(`job ${job.id} ${job.type}`);
      const { TaskListProgress } = require('./progress/task-list') as typeof import('./progress/task-list');
      progress = new TaskListProgress(job);
    } else {
      progress = new PlainProgress(job, ctx.out);
    }
  }
  try {
    await followJobEvents(client, id, (e) => progress?.onEvent(e), {
      onReconnect: (last, n) => ctx.env.CEO_DEBUG && ctx.err(`ceo: event stream dropped; reconnecting (${n}) after ${last ?? 'the start'}`),
    });
  } finally {
    await progress?.end();
  }
  const final = await client.request<JobView>('GET', `/api/jobs/${encodeURIComponent(id)}`);
  if (opts.json) ctx.out(JSON.stringify(final, null, 2));
  else for (const line of resultLines(final)) ctx.out(line);
  return exitOfState(final.state);
}

/** Sends a write request; on its 202, follows the job (or, with --no-wait, prints its id). */
export async function submit(ctx: Context, method: string, path: string, body: unknown, opts: WriteOptions): Promise<ExitCode> {
  const accepted = await ctx.client().request<{ id: string; status_url: string; events_url: string }>(method, path, body);
  if (opts.wait === false) {
    ctx.out(opts.json ? JSON.stringify(accepted, null, 2) : `job ${accepted.id} queued; follow it with: ceo jobs watch ${accepted.id}`);
    return EXIT.ok;
  }
  return watchJob(ctx, accepted.id, opts);
}

/** A read: the answer as JSON with --json, else as `render` puts it. */
export async function read<T>(ctx: Context, path: string, opts: OutputOptions, render: (body: T) => string[]): Promise<ExitCode> {
  const body = await ctx.client().request<T>('GET', path);
  if (opts.json) ctx.out(JSON.stringify(body, null, 2));
  else for (const line of render(body)) ctx.out(line);
  return EXIT.ok;
}
