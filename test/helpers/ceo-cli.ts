/**
 * Running `ceo` as a user does: `node dist/cli/main.js …` in a process of its
 * own, with that user's ticket cache (kinit'ed here into a FILE: cache), a
 * HOME and XDG_CACHE_HOME of its own, and CEOD_URL; on a pseudo-terminal
 * through `script` when asked, where the screen is rebuilt from what was
 * written (`renderScreen`), as a terminal would show it.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../../tools/devstack/layout';
import type { StackInfo } from '../../tools/devstack/types';

export const CEO_MAIN = join(REPO_ROOT, 'dist/cli/main.js');

export interface CeoResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout as a terminal shows it at the end (for `tty` runs), trailing blanks trimmed. */
  screen: string[];
  ms: number;
}

export interface CeoRunOptions {
  /** Whose ticket cache (kinit'ed by `CeoUsers.kinit`); null: a cache that does not exist. */
  as: string | null;
  /** Run on a pseudo-terminal (script -qfec), 120 columns. */
  tty?: boolean;
  /** Extra environment (e.g. CEO_DEBUG=1, another CEOD_URL). */
  env?: NodeJS.ProcessEnv;
  /** HOME for the run (default: the user's own temp home, so the session cookie is kept between runs). */
  home?: string;
  /** Called with the output so far; answers what to type next (for prompts on a terminal). */
  answer?: (outputSoFar: string) => string | undefined;
  timeoutMs?: number;
}

const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * The screen a terminal shows after `raw`: handles what listr2/log-update
 * and the prompts write (CR, LF, cursor up/down/column, erase line/screen,
 * colours and cursor visibility ignored).
 */
export function renderScreen(raw: string): string[] {
  const lines: string[] = [''];
  let row = 0;
  let col = 0;
  const put = (ch: string) => {
    const l = lines[row] ?? '';
    lines[row] = l.padEnd(col, ' ').slice(0, col) + ch + l.slice(col + 1);
    col++;
  };
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (c === '\x1b') {
      const m = /^\x1b\[([?\d;]*)([A-Za-z])/.exec(raw.slice(i, i + 16));
      if (!m) continue;
      i += m[0].length - 1;
      const n = m[1] === '' || m[1]!.startsWith('?') ? 1 : parseInt(m[1]!, 10);
      switch (m[2]) {
        case 'A':
          row = Math.max(0, row - n);
          break;
        case 'B':
          row += n;
          while (lines.length <= row) lines.push('');
          break;
        case 'G':
          col = n - 1;
          break;
        case 'K':
          lines[row] = m[1] === '2' ? '' : (lines[row] ?? '').slice(0, col);
          break;
        case 'J':
          lines.length = row + 1;
          lines[row] = (lines[row] ?? '').slice(0, col);
          break;
        default:
          break; // colours, cursor visibility
      }
      continue;
    }
    if (c === '\r') col = 0;
    else if (c === '\n') {
      row++;
      col = 0;
      while (lines.length <= row) lines.push('');
    } else put(c);
  }
  return lines.map((l) => l.trimEnd()).filter((l, i, all) => l !== '' || all.slice(i).some((x) => x !== ''));
}

/** Ticket caches and homes of the users `ceo` runs as. */
export class CeoUsers {
  readonly dir = mkdtempSync(join(tmpdir(), 'ceo-cli-'));

  constructor(
    private readonly stack: StackInfo,
    private readonly url: string,
  ) {}

  ccache(uid: string): string {
    return `FILE:${join(this.dir, `cc-${uid}`)}`;
  }

  home(uid: string): string {
    const h = join(this.dir, `home-${uid}`);
    mkdirSync(h, { recursive: true });
    return h;
  }

  /**
   * `kinit uid` into the user's own cache, the password on stdin. With
   * `newPassword`, for an account whose password must be changed at the
   * first login (a new member's initial one): kinit asks for a new one twice.
   */
  async kinit(uid: string, password = this.stack.users[uid as keyof StackInfo['users']]?.password, newPassword?: string): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const env: NodeJS.ProcessEnv = { ...process.env, KRB5_CONFIG: this.stack.krb5.config, KRB5CCNAME: this.ccache(uid) };
      delete env.KRB5_CLIENT_KTNAME;
      const child = execFile('kinit', [uid], { env }, (err, _o, stderr) => (err ? reject(new Error(`kinit ${uid}: ${stderr}`)) : resolve()));
      child.stdin!.end(newPassword === undefined ? `${password}\n` : `${password}\n${newPassword}\n${newPassword}\n`);
    });
  }

  env(o: CeoRunOptions): NodeJS.ProcessEnv {
    const home = o.home ?? this.home(o.as ?? 'nobody');
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      KRB5_CONFIG: this.stack.krb5.config,
      KRB5CCNAME: o.as ? this.ccache(o.as) : `FILE:${join(this.dir, 'no-such-ccache')}`,
      HOME: home,
      XDG_CACHE_HOME: join(home, '.cache'),
      XDG_CONFIG_HOME: join(home, '.config'),
      CEOD_URL: this.url,
      // The stack's API serves HTTPS with its own CA, which the user's environment trusts (env.sh).
      NODE_EXTRA_CA_CERTS: this.stack.tls.caFile,
      NO_COLOR: '1',
      ...o.env,
    };
    delete env.KRB5_CLIENT_KTNAME;
    return env;
  }

  /** Runs `ceo args…` to its exit. */
  run(args: string[], o: CeoRunOptions): Promise<CeoResult> {
    const env = this.env(o);
    const t0 = Date.now();
    const child = o.tty
      ? spawn('script', ['-qfec', `stty cols 120 rows 50; exec ${[process.execPath, CEO_MAIN, ...args].map(shellQuote).join(' ')}`, '/dev/null'], { env, stdio: ['pipe', 'pipe', 'pipe'] })
      : spawn(process.execPath, [CEO_MAIN, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let typed = 0;
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      if (o.answer) {
        const next = o.answer(stdout.slice(typed));
        if (next !== undefined) {
          typed = stdout.length;
          child.stdin.write(next);
        }
      }
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    if (!o.answer && !o.tty) child.stdin.end();
    const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 60_000);
    return new Promise((resolve) => {
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr, screen: o.tty ? renderScreen(stdout) : [], ms: Date.now() - t0 });
      });
    });
  }
}
