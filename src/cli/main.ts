/**
 * `ceo`, the command-line client of ceod (README.md#ceo): one command per
 * API route, named as the club's sysadmins expect, each following its job
 * with live progress. Exit codes: ./errors.ts.
 *
 * Start-up time matters for a command that answers in milliseconds: only
 * commander and Node's own modules load up front; the Kerberos native module,
 * the SSE parser, the task list and the prompts load when a command needs
 * them (BENCHMARKS.md, the ceo client).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { outcome } from './commands/define';
import { type Context, processContext } from './context';
import { CliError, EXIT } from './errors';

type Register = (ctx: Context, program: Command) => void;

/** The command groups, each in its own module, loaded only when its group runs (or for the overall help). */
const GROUPS: Record<string, () => Register> = {
  members: () => (require('./commands/members') as typeof import('./commands/members')).registerMembers,
  groups: () => (require('./commands/groups') as typeof import('./commands/groups')).registerGroups,
  positions: () => (require('./commands/positions') as typeof import('./commands/positions')).registerPositions,
  mailman: () => (require('./commands/mailman') as typeof import('./commands/mailman')).registerMailman,
  mysql: () => (require('./commands/databases') as typeof import('./commands/databases')).registerMysql,
  postgresql: () => (require('./commands/databases') as typeof import('./commands/databases')).registerPostgresql,
  jobs: () => (require('./commands/jobs') as typeof import('./commands/jobs')).registerJobs,
};

function version(): string {
  try {
    return (JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** The program; with `only` (the group on the command line), only that group's commands are loaded. */
export function buildProgram(ctx: Context, only?: string): Command {
  const program = new Command('ceo')
    .description(
      'The Computer Science Club\'s accounts, from the command line: talks to ceod as you (your Kerberos ticket: kinit first).\n' +
        'ceod is CEOD_URL, or [ceod] url in ~/.config/ceo/ceo.ini or /etc/csc/ceo.ini.\n' +
        'Exit codes: 0 ok, 1 the job failed or rolled back (or ceod failed), 2 usage or bad request, 3 authentication, 4 not found or conflict.',
    )
    .version(version(), '-V, --version')
    .showHelpAfterError('(add --help for usage)')
    .exitOverride()
    .configureOutput({ writeOut: (s) => process.stdout.write(s), writeErr: (s) => process.stderr.write(s) });
  for (const [name, register] of Object.entries(GROUPS)) if (!only || !(only in GROUPS) || only === name) register()(ctx, program);
  // Groups and leaves alike: exitOverride and output settings reach every subcommand.
  const all = (c: Command): Command[] => [c, ...c.commands.flatMap(all)];
  for (const c of all(program)) c.exitOverride().configureOutput({ writeOut: (s) => process.stdout.write(s), writeErr: (s) => process.stderr.write(s) });
  return program;
}

/** Runs ceo with `argv` (without node and the script); answers the exit code. */
export async function main(argv: string[]): Promise<number> {
  const ctx = processContext();
  try {
    await buildProgram(ctx, argv[0]).parseAsync(argv, { from: 'user' });
    return outcome.exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version exit 0; a group without its subcommand shows its help and is a usage error.
      return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (err instanceof CliError) {
      ctx.err(`ceo: ${err.message}`);
      return err.exitCode;
    }
    ctx.err(`ceo: ${err instanceof Error ? err.message : String(err)}`);
    return EXIT.failed;
  } finally {
    ctx.close();
  }
}

/** The `ceo` command: runs, then exits once stdout has been written. */
export function run(argv: string[]): void {
  void main(argv).then((code) => {
    process.stdout.write('', () => process.exit(code));
  });
}

if (require.main === module) run(process.argv.slice(2));
