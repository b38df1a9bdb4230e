/**
 * The `Kadmin` adapter: one `kadmin -k -q "<command>"` process per operation,
 * authenticated from the admin keytab.
 *
 * No maintained npm package speaks the kadmin protocol, and one process per
 * operation costs ~13 ms. Passwords travel only on the child's stdin (`addprinc`
 * and `cpw` read them twice), never in argv (visible in `ps`) and never in an
 * error message. Principal names are checked against a strict pattern because
 * they become part of the command kadmin parses.
 */
import { spawn } from 'node:child_process';
import type { Config } from '../config/schema';
import { PermanentError, TransientError, type CeoError } from '../errors';
import type { Kadmin, PrincipalInfo } from '../workers/adapters';
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
}

interface RunResult {
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

/** Output beyond this is dropped: kadmin's answers are a few lines. */
const MAX_OUTPUT = 64 * 1024;

function checkPassword(password: string): void {
  // A newline would end the password early and leave the rest as the "re-enter" line.
  if (typeof password !== 'string' || password.length === 0 || /[\r\n\0]/.test(password)) {
    throw new PermanentError('INVALID_PAYLOAD', 'password must be a non-empty single line');
  }
}

export function createKadmin(opts: KadminOptions): Kadmin {
  const running = new Set<Promise<unknown>>();
  let closed = false;

  const env: NodeJS.ProcessEnv = { ...process.env };
  // It would silently authenticate kadmin from another keytab (RECIPES.md).
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

  /** Runs `query`; resolves with its stdout on success, rejects with a classified error. */
  async function run(query: string, stdin = '', secrets: string[] = []): Promise<string> {
    if (closed) throw new TransientError('KRB5_UNAVAILABLE', 'kadmin adapter is closed');
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

  const isCode = (e: unknown, code: string): boolean => (e as CeoError | undefined)?.code === code;

  return {
    async addPrincipal(name: string, password: string, { needChange }): Promise<void> {
      checkPrincipalName(name);
      checkPassword(password);
      await run(`addprinc ${needChange ? '+needchange ' : ''}${name}`, `${password}\n${password}\n`, [password]);
    },

    async setPassword(name: string, password: string, { needChange }): Promise<void> {
      checkPrincipalName(name);
      checkPassword(password);
      // cpw clears REQUIRES_PWCHANGE, and has no option to set it: a second run sets it again.
      await run(`cpw ${name}`, `${password}\n${password}\n`, [password]);
      if (needChange) await run(`modprinc +needchange ${name}`);
    },

    async getPrincipal(name: string): Promise<PrincipalInfo | null> {
      checkPrincipalName(name);
      try {
        return parseGetprinc(await run(`getprinc ${name}`));
      } catch (e) {
        if (isCode(e, 'KRB5_NO_SUCH_PRINCIPAL')) return null;
        throw e;
      }
    },

    async deletePrincipal(name: string): Promise<boolean> {
      checkPrincipalName(name);
      try {
        await run(`delprinc -force ${name}`);
        return true;
      } catch (e) {
        if (isCode(e, 'KRB5_NO_SUCH_PRINCIPAL')) return false;
        throw e;
      }
    },

    async ping(): Promise<void> {
      const out = await run('get_privs');
      if (!/current privileges:/i.test(out)) throw new TransientError('KRB5_UNAVAILABLE', 'kadmin get_privs gave no answer');
    },

    async close(): Promise<void> {
      closed = true;
      // Let runs in flight finish (each has its own deadline) rather than kill them mid-change.
      await Promise.allSettled([...running]);
    },
  };
}

/** The adapter for a host's config: `[kerberos]` admin principal and keytab. */
export function kadminFromConfig(config: Config): Kadmin {
  return createKadmin(kadminOptionsFromConfig(config));
}

export function kadminOptionsFromConfig(config: Config): KadminOptions {
  const k = config.kerberos;
  return {
    kadminPath: k.kadmin_path,
    principal: k.admin_principal,
    ...(k.admin_keytab ? { keytab: k.admin_keytab } : {}),
    realm: k.realm,
    ...(k.krb5_config ? { krb5Config: k.krb5_config } : {}),
    timeoutMs: k.timeout_ms,
  };
}
