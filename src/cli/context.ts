/**
 * What every command gets: the API client (made on first use, so `--help`
 * and usage errors read no config), where output goes, and whether a person
 * is at a terminal.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { CeodClient } from './client';
import { resolveConfig } from './config';

export interface Context {
  client(): CeodClient;
  /** A line to stdout. */
  out(line: string): void;
  /** A line to stderr. */
  err(line: string): void;
  /** stdout is a terminal: progress as a checklist, else one line per event. */
  stdoutIsTTY: boolean;
  /** stdin and stdout are terminals: a person can answer questions. */
  interactive: boolean;
  env: NodeJS.ProcessEnv;
  now(): Date;
}

function readIfExists(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

export function processContext(): Context & { close(): void } {
  const env = process.env;
  let client: CeodClient | undefined;
  const home = env.HOME || homedir();
  return {
    client() {
      if (client) return client;
      const config = resolveConfig({ env, home, readFile: readIfExists, parseIni: (t) => (require('ini') as typeof import('ini')).parse(t) });
      const debug = env.CEO_DEBUG ? (line: string) => process.stderr.write(`ceo: ${line}\n`) : undefined;
      client = new CeodClient({ config, env, home, debug });
      return client;
    },
    out: (line) => void process.stdout.write(`${line}\n`),
    err: (line) => void process.stderr.write(`${line}\n`),
    stdoutIsTTY: Boolean(process.stdout.isTTY),
    interactive: Boolean(process.stdin.isTTY && process.stdout.isTTY),
    env,
    now: () => new Date(),
    close: () => client?.close(),
  };
}
