/**
 * The `Kadmin` adapter, authenticated from the admin keytab.
 *
 * No maintained npm package speaks the kadmin protocol. A `kadmin -k -q
 * "<command>"` process per operation costs a process start plus a fresh
 * authentication to the KDC each time (~15-40 ms, and CPU the KDC shares), so
 * operations go through one long-lived interactive `kadmin` session fed on
 * stdin (~2 ms each; see KadminSession), one at a time. The per-process path
 * remains for passwords the session cannot carry on its command line.
 *
 * Passwords never appear in argv (visible in `ps`) nor in an error message:
 * on the session they are part of a command written to kadmin's stdin (kadmin
 * echoes it on its own stdout, which only this process reads and which is
 * never logged); per process they are the two lines `addprinc`/`cpw` read.
 * Principal names are checked against a strict pattern because they become
 * part of the command kadmin parses.
 */
import { spawn } from 'node:child_process';
import { hasCode, isCeoError, PermanentError, TransientError } from '../core/errors';
import type { PrincipalInfo } from '../core/model/principal';
import type { Kadmin } from '../core/ports';
import { checkPrincipalName, classifyKadminResult, parseGetprinc } from './kadmin-output';

export interface KadminOptions {
  /** The `kadmin` binary (remote client, not kadmin.local). */
  kadminPath: string;
  /** Admin principal, e.g. `ceod/admin`. */
  principal: string;
  /** Keytab holding the admin principal's keys; kadmin's default keytab if absent. */
  keytab?: string;
  realm: string;
  /** KRB5_CONFIG for the child; the inherited environment's otherwise. */
  krb5Config?: string;
  /** Deadline of one kadmin run; the child is killed when it passes. */
  timeoutMs: number;
  /** One long-lived kadmin session (default), or false for a process per operation. */
  session?: boolean;
  /** A session is replaced after this long, well before its kadmin ticket could expire. Default 5 min. */
  sessionMaxAgeMs?: number;
  /** An idle session is closed after this long. Default 30 s. */
  sessionIdleMs?: number;
}

/** Lines of a successful answer that are not errors (getprinc, get_privs, addprinc's confirmation). */
function isAnswerLine(line: string): boolean {
  const l = line.trim();
  return (
    l === '' ||
    /^Principal "[^"]*" (created|modified)\.$/.test(l) ||
    /^Password for "[^"]*" changed\.$/.test(l) ||
    /^Principal "[^"]*" deleted\.$/.test(l) ||
    /^Make sure that you have removed this principal from all ACLs before reusing\.$/.test(l) ||
    /^current privileges:/i.test(l) ||
    /^(Principal|Expiration date|Last password change|Password expiration date|Maximum ticket life|Maximum renewable life|Last modified|Last successful authentication|Last failed authentication|Failed password attempts|Number of keys|Key|MKey|Attributes|Policy):/.test(l) ||
    /^Authenticating as principal /.test(l)
  );
}

/** Drops the echoed command line (it may hold a password) from a session's output. */
function stripEcho(output: string, command: string): string {
  return output
    .split(/\r?\n/)
    .filter((l) => l.trim() !== command.trim())
    .join('\n');
}

interface RunResult {
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

/** Output beyond this is dropped: kadmin's answers are a few lines. */
const MAX_OUTPUT = 64 * 1024;

/** Passwords the session can carry as `-pw "<password>"` on a command line (kadmin's parser splits on blanks, quotes and backslashes). */
const SESSION_SAFE_PASSWORD = /^[A-Za-z0-9!#%&()*+,./:;<=>?@^_{|}~-]{1,256}$/;


/**
 * One interactive `kadmin -k` process, with stderr folded into stdout (`2>&1`)
 * so a command's error lines and its answer arrive in one ordered stream.
 * kadmin prints its prompt `kadmin:  ` (flushing stdout) when it is ready for
 * the next command, so everything between writing a command and the next
 * prompt is that command's output. Commands run one at a time.
 */
class KadminSession {
  private readonly child;
  private buf = '';
  private waiter: { resolve: (out: string) => void; reject: (e: Error) => void } | null = null;
  private exited: { code: number | null } | null = null;
  private chain: Promise<unknown> = Promise.resolve();
  readonly startedAt = Date.now();
  lastUsed = Date.now();
  /** False once it died, timed out or was closed: the adapter then starts another. */
  usable = true;
  readonly ready: Promise<string>;

  constructor(
    private readonly opts: KadminOptions,
    env: NodeJS.ProcessEnv,
    args: string[],
  ) {
    // `exec` so the pid is kadmin's own; arguments go through "$@", never through the shell's parser.
    this.child = spawn('/bin/sh', ['-c', 'exec "$0" "$@" 2>&1', opts.kadminPath, ...args], { env, stdio: ['pipe', 'pipe', 'ignore'] });
    this.child.stdout.setEncoding('utf8');
    this.child.stdout.on('data', (d: string) => {
      if (this.buf.length < MAX_OUTPUT) this.buf += d;
      this.drain();
    });
    this.child.stdin.on('error', () => undefined);
    this.child.on('error', () => this.die(null));
    this.child.on('exit', (code) => this.die(code));
    this.ready = this.next();
    this.ready.catch(() => undefined); // awaited by run(); a failed start is reported there
  }

  private die(code: number | null): void {
    this.usable = false;
    this.exited ??= { code };
    const w = this.waiter;
    this.waiter = null;
    w?.reject(Object.assign(new Error('kadmin session ended'), { output: this.buf, exitCode: code }));
  }

  /** Resolves with the output up to the next prompt. */
  private next(): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      if (this.exited) {
        reject(Object.assign(new Error('kadmin session ended'), { output: this.buf, exitCode: this.exited.code }));
        return;
      }
      this.waiter = { resolve, reject };
      this.drain();
    });
  }

  private drain(): void {
    if (!this.waiter) return;
    const m = /(^|\n)kadmin: {2}/.exec(this.buf);
    if (!m) return;
    const out = this.buf.slice(0, m.index + m[1]!.length);
    this.buf = this.buf.slice(m.index + m[0].length);
    const w = this.waiter;
    this.waiter = null;
    w.resolve(out);
  }

  /**
   * Runs one command line; resolves with its output (the echoed command line
   * removed). Rejects with the raw failure (the caller classifies it).
   */
  run(command: string): Promise<string> {
    const p = this.chain.then(async () => {
      // The deadline covers the session's start too (a kadmin that never prompts).
      const work = (async () => {
        await this.ready;
        if (!this.usable) throw Object.assign(new Error('kadmin session ended'), { output: '', exitCode: this.exited?.code ?? null });
        const answer = this.next();
        this.child.stdin.write(`${command}\n`);
        return answer;
      })();
      work.catch(() => undefined); // the race below reports it
      let timer: NodeJS.Timeout | undefined;
      this.lastUsed = Date.now();
      try {
        const out = await Promise.race([
          work,
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => {
              this.usable = false;
              this.child.kill('SIGKILL');
              reject(new TransientError('TIMEOUT', `kadmin ${command.split(' ')[0]} timed out after ${this.opts.timeoutMs} ms`));
            }, this.opts.timeoutMs);
          }),
        ]);
        // kadmin echoes the line it read when stdin is not a terminal.
        const nl = out.indexOf('\n');
        return nl >= 0 && out.slice(0, nl).trim() === command.trim() ? out.slice(nl + 1) : out;
      } finally {
        clearTimeout(timer);
        this.lastUsed = Date.now();
      }
    });
    this.chain = p.catch(() => undefined);
    return p;
  }

  async close(): Promise<void> {
    this.usable = false;
    await this.chain;
    if (this.exited) return;
    const gone = new Promise<void>((r) => this.child.once('exit', () => r()));
    this.child.stdin.end();
    const t = setTimeout(() => this.child.kill('SIGKILL'), 2000);
    await gone;
    clearTimeout(t);
  }
}

function checkPassword(password: string): void {
  // A newline would end the password early and leave the rest as the "re-enter" line.
  if (typeof password !== 'string' || password.length === 0 || /[\r\n\0]/.test(password)) {
    throw new PermanentError('INVALID_PAYLOAD', 'password must be a non-empty single line');
  }
}

export function createKadmin(opts: KadminOptions): Kadmin {
  const sessionMaxAgeMs = opts.sessionMaxAgeMs ?? 5 * 60_000;
  const sessionIdleMs = opts.sessionIdleMs ?? 30_000;
  const running = new Set<Promise<unknown>>();
  let closed = false;

  const env: NodeJS.ProcessEnv = { ...process.env };
  // It would silently authenticate kadmin from another keytab: a client with no ticket becomes whoever that keytab holds.
  delete env.KRB5_CLIENT_KTNAME;
  if (opts.krb5Config) env.KRB5_CONFIG = opts.krb5Config;

  const args = (query: string): string[] => [
    '-k',
    ...(opts.keytab ? ['-t', opts.keytab] : []),
    '-p',
    opts.principal,
    '-r',
    opts.realm,
    '-q',
    query,
  ];

  /** Runs one kadmin query, feeding `stdin` (then EOF, so a prompt never waits). */
  function exec(query: string, stdin: string): Promise<RunResult> {
    return new Promise<RunResult>((resolve, reject) => {
      const child = spawn(opts.kadminPath, args(query), { env, stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      let done = false;
      const finish = (fn: () => void): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        fn();
      };
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        finish(() => reject(new TransientError('TIMEOUT', `kadmin ${query.split(' ')[0]} timed out after ${opts.timeoutMs} ms`)));
      }, opts.timeoutMs);
      child.stdout.on('data', (d: Buffer) => {
        if (stdout.length < MAX_OUTPUT) stdout += d.toString('utf8');
      });
      child.stderr.on('data', (d: Buffer) => {
        if (stderr.length < MAX_OUTPUT) stderr += d.toString('utf8');
      });
      child.on('error', (e: NodeJS.ErrnoException) => {
        finish(() =>
          reject(
            e.code === 'ENOENT' || e.code === 'EACCES'
              ? new PermanentError('KRB5_REFUSED', `cannot run ${opts.kadminPath}: ${e.code}`)
              : new TransientError('KRB5_UNAVAILABLE', `cannot run ${opts.kadminPath}: ${e.code ?? e.message}`),
          ),
        );
      });
      child.on('close', (exitCode) => finish(() => resolve({ exitCode, stdout, stderr })));
      // kadmin may exit before reading stdin (e.g. it cannot reach the server): ignore EPIPE.
      child.stdin.on('error', () => undefined);
      child.stdin.end(stdin);
    });
  }

  let session: KadminSession | null = null;
  let idleTimer: NodeJS.Timeout | undefined;
  const sessionArgs = args('').slice(0, -2); // no -q: interactive

  function currentSession(): KadminSession {
    if (session && (!session.usable || Date.now() - session.startedAt > sessionMaxAgeMs)) {
      void session.close();
      session = null;
    }
    session ??= new KadminSession(opts, env, sessionArgs);
    if (!idleTimer) {
      idleTimer = setInterval(() => {
        if (session && Date.now() - session.lastUsed > sessionIdleMs) {
          void session.close();
          session = null;
        }
        if (!session) {
          clearInterval(idleTimer);
          idleTimer = undefined;
        }
      }, sessionIdleMs / 3);
      idleTimer.unref();
    }
    return session;
  }

  /** Runs `command` on the session; resolves with its output, rejects with a classified error. */
  async function runOnSession(command: string, secrets: string[]): Promise<string> {
    if (closed) throw new TransientError('KRB5_UNAVAILABLE', 'kadmin adapter is closed');
    const s = currentSession();
    const p = s.run(command);
    running.add(p);
    try {
      return await answerOf(p, command, secrets);
    } catch (e) {
      // After a transient failure (kadmind restarted, a timeout) the session's
      // connection may be dead: the next command starts a fresh one.
      if (!isCeoError(e) || !e.permanent) s.usable = false;
      throw e;
    } finally {
      running.delete(p);
    }
  }

  async function answerOf(p: Promise<string>, command: string, secrets: string[]): Promise<string> {
    {
      let out: string;
      try {
        out = await p;
      } catch (e) {
        if (isCeoError(e)) throw e;
        // The session ended: it could not start (bad keytab, kadmind down) or died mid-command.
        // Either way the command may or may not have happened: transient, and steps are ensures.
        const raw = e as { output?: string; exitCode?: number | null };
        const err = classifyKadminResult(raw.exitCode ?? 1, stripEcho(raw.output ?? '', command), secrets);
        throw err ?? new TransientError('KRB5_UNAVAILABLE', 'kadmin session ended');
      }
      const err = classifyKadminResult(0, out.split(/\r?\n/).filter((l) => !isAnswerLine(l)).join('\n'), secrets);
      if (err) throw err;
      return out;
    }
  }

  /** Runs `query`; resolves with its stdout on success, rejects with a classified error. */
  async function run(query: string, stdin = '', secrets: string[] = []): Promise<string> {
    if (closed) throw new TransientError('KRB5_UNAVAILABLE', 'kadmin adapter is closed');
    if (stdin === '' && opts.session !== false) return runOnSession(query, secrets);
    const p = exec(query, stdin);
    running.add(p);
    try {
      const r = await p;
      const err = classifyKadminResult(r.exitCode, r.stderr, secrets);
      if (err) throw err;
      return r.stdout;
    } finally {
      running.delete(p);
    }
  }

  return {
    async addPrincipal(name: string, password: string, { needChange }): Promise<void> {
      checkPrincipalName(name);
      checkPassword(password);
      if (opts.session !== false && SESSION_SAFE_PASSWORD.test(password)) {
        await runOnSession(`addprinc ${needChange ? '+needchange ' : ''}-pw "${password}" ${name}`, [password]);
        return;
      }
      await run(`addprinc ${needChange ? '+needchange ' : ''}${name}`, `${password}\n${password}\n`, [password]);
    },

    async setPassword(name: string, password: string, { needChange }): Promise<void> {
      checkPrincipalName(name);
      checkPassword(password);
      // cpw clears REQUIRES_PWCHANGE, and has no option to set it: a second run sets it again.
      if (opts.session !== false && SESSION_SAFE_PASSWORD.test(password)) await runOnSession(`cpw -pw "${password}" ${name}`, [password]);
      else await run(`cpw ${name}`, `${password}\n${password}\n`, [password]);
      if (needChange) await run(`modprinc +needchange ${name}`);
    },

    async getPrincipal(name: string): Promise<PrincipalInfo | null> {
      checkPrincipalName(name);
      try {
        return parseGetprinc(await run(`getprinc ${name}`));
      } catch (e) {
        if (hasCode(e, 'KRB5_NO_SUCH_PRINCIPAL')) return null;
        throw e;
      }
    },

    async deletePrincipal(name: string): Promise<boolean> {
      checkPrincipalName(name);
      try {
        await run(`delprinc -force ${name}`);
        return true;
      } catch (e) {
        if (hasCode(e, 'KRB5_NO_SUCH_PRINCIPAL')) return false;
        throw e;
      }
    },

    async ping(): Promise<void> {
      const out = await run('get_privs');
      if (!/current privileges:/i.test(out)) throw new TransientError('KRB5_UNAVAILABLE', 'kadmin get_privs gave no answer');
    },

    async close(): Promise<void> {
      closed = true;
      clearInterval(idleTimer);
      // Let runs in flight finish (each has its own deadline) rather than kill them mid-change.
      await Promise.allSettled([...running]);
      await session?.close();
      session = null;
    },
  };
}
