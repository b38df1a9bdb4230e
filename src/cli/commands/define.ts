/**
 * Declaring commands: a group (`ceo members`) holds leaves (`ceo members
 * get`); every leaf takes `--json` and `--help`; a write leaf also takes
 * `--no-wait` and follows its job (../job-runner.ts). Adding a command for a
 * new route is one `readLeaf` or `writeLeaf` call, e.g.
 *
 *     const mysql = group(program, 'mysql', 'MySQL databases');
 *     writeLeaf(ctx, mysql, 'create <uid>', 'create a database for a member', ([uid]) => ({ method: 'POST', path: `/api/db/mysql/${seg(uid)}` }));
 */
import type { Command } from 'commander';
import type { Context } from '../context';
import type { ExitCode } from '../errors';
import { read, submit, type WriteOptions } from '../job-runner';

export type Opts = Record<string, any>;

export interface ApiRequest {
  method: string;
  path: string;
  body?: unknown;
}

/** A path segment, escaped. */
export const seg = (s: string | undefined): string => encodeURIComponent(s ?? '');

/** The exit code the last action answered; main() exits with it. */
export const outcome = { exitCode: 0 as ExitCode };

export function group(parent: Command, name: string, description: string): Command {
  return parent.command(name).description(description);
}

/** A command with `--json` whose action answers the exit code. */
export function leaf(parent: Command, spec: string, description: string, action: (args: string[], opts: Opts) => Promise<ExitCode>): Command {
  const c = parent.command(spec).description(description).option('--json', 'print machine-readable JSON only (the API answer; for a write, the final job)');
  c.action(async (...a: unknown[]) => {
    const cmd = a[a.length - 1] as Command;
    outcome.exitCode = await action(cmd.processedArgs as string[], cmd.opts());
  });
  return c;
}

/** A read: GET `path`, shown by `render` (or as JSON). */
export function readLeaf(ctx: Context, parent: Command, spec: string, description: string, path: (args: string[], opts: Opts) => string, render: (body: any, args: string[], opts: Opts) => string[]): Command {
  return leaf(parent, spec, description, (args, opts) => read(ctx, path(args, opts), opts, (body) => render(body, args, opts)));
}

/** A write: the request, then its job followed to the end with progress. */
export function writeLeaf(ctx: Context, parent: Command, spec: string, description: string, request: (args: string[], opts: Opts) => ApiRequest | Promise<ApiRequest>): Command {
  return leaf(parent, spec, description, async (args, opts) => {
    const r = await request(args, opts);
    return submit(ctx, r.method, r.path, r.body, opts as WriteOptions);
  }).option('--no-wait', 'print the job id once it is queued, and do not follow it');
}
