/**
 * MariaDB (Debian mariadb-server): a private datadir made once with
 * mariadb-install-db, then mariadbd with no option files (/etc/mysql is the
 * packaged server's, not ours) on 127.0.0.1 and a socket in DIR/run, with
 * small buffers (it starts in ~0.3 s and holds ~70 MB), and an admin user with
 * a generated password that may create and drop databases and users and grant
 * on them.
 *
 * The server runs as the user that starts the stack (`--user=root` when that
 * is root); mariadb-install-db gives that OS user a passwordless login over the
 * socket (unix_socket), which is how the admin user gets made.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { logFile, stackLayout } from './layout';
import { bindOf } from './placement';
import { DevstackError, findBinary } from './processes';
import type { StackInfo } from './types';

export const MYSQL_ADMIN_USER = 'ceod_admin';

/** The OS user the server runs as, which install-db lets in over the socket. */
function osUser(): string {
  return process.getuid?.() === 0 ? 'root' : userInfo().username;
}

/** Buffers and limits for a server holding a few small test databases. */
const SMALL = [
  '--innodb-buffer-pool-size=16M',
  '--innodb-log-file-size=8M',
  '--innodb-log-buffer-size=2M',
  '--innodb-temp-data-file-path=ibtmp1:4M:autoextend',
  '--key-buffer-size=1M',
  '--table-open-cache=200',
  '--max-connections=100',
  '--performance-schema=OFF',
];

/** The mariadbd command line (it stays in the foreground; it logs to stderr, i.e. our log file). */
export function mariadbdArgs(info: StackInfo): string[] {
  const layout = stackLayout(info.dir);
  return [
    '--no-defaults',
    `--datadir=${info.mysql.dataDir}`,
    `--socket=${info.mysql.socket}`,
    `--port=${info.mysql.port}`,
    `--bind-address=${bindOf(info.placement, 'mariadb')}`,
    `--pid-file=${join(layout.mariadbDir, 'mariadbd.pid')}`,
    `--user=${osUser()}`,
    // Accounts are by address (127.0.0.1, localhost): no DNS, no /etc/hosts.
    '--skip-name-resolve',
    // Readiness probes connect and hang up: never block the loopback for that, nor log it.
    '--max-connect-errors=1000000',
    '--log-warnings=1',
    // What Debian's own configuration sets, which --no-defaults skips.
    '--character-set-server=utf8mb4',
    '--collation-server=utf8mb4_general_ci',
    // Data of a dev/test stack: survives a crash of mariadbd, may lose the last second on a crash of the machine.
    '--innodb-flush-log-at-trx-commit=2',
    ...SMALL,
  ];
}

function run(cmd: string, args: string[], stdin: string, timeoutMs: number): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const child = execFile(cmd, args, { timeout: timeoutMs, env: { ...process.env, LANG: 'C.UTF-8' } }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, out: `${stdout}${stderr}` });
    });
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(stdin);
  });
}

/** Creates the datadir with its system tables unless it exists; resolves true if it made it. */
export async function ensureMariadbData(info: StackInfo): Promise<boolean> {
  const dataDir = info.mysql.dataDir;
  if (existsSync(join(dataDir, 'mysql'))) return false;
  // Made aside and renamed into place: an interrupted install is never taken for a datadir.
  const tmp = `${dataDir}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(join(dataDir, '..'), { recursive: true });
  const args = [
    '--no-defaults',
    `--datadir=${tmp}`,
    `--user=${osUser()}`,
    '--auth-root-authentication-method=socket',
    '--skip-test-db',
    '--skip-name-resolve',
    // Else a 96 MB redo log per stack.
    '--innodb-log-file-size=8M',
  ];
  const res = await run(findBinary('mariadb-install-db'), args, '', 120000);
  const log = logFile(stackLayout(info.dir), 'mariadb');
  appendFileSync(log, `--- ${new Date().toISOString()} mariadb-install-db (exit ${res.code})\n${res.out}`);
  if (res.code !== 0) throw new DevstackError(`mariadb: mariadb-install-db exited with ${res.code}; see ${log}`);
  renameSync(tmp, dataDir);
  return true;
}

/** MariaDB's mysql_native_password hash: the server never sees the password itself. */
/** `10.250.3.0/24` as MariaDB's host pattern `10.250.3.%` (only /8, /16 and /24 networks). */
export function cidrToLike(cidr: string): string | null {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(8|16|24)$/.exec(cidr);
  if (!m) return null;
  const keep = Number(m[5]) / 8;
  return [...m.slice(1, 1 + keep), '%'].join('.');
}

export function nativePasswordHash(password: string): string {
  const sha1 = (b: Buffer | string) => createHash('sha1').update(b).digest();
  return `*${sha1(sha1(password)).toString('hex').toUpperCase()}`;
}

/**
 * Creates (or resets to the stack's password) the admin user, at 127.0.0.1 for
 * TCP clients and at localhost for the socket, logging in over the socket as
 * the OS user. Idempotent: runs on every start of the server.
 */
export async function ensureMariadbAdmin(info: StackInfo): Promise<void> {
  const hash = nativePasswordHash(info.mysql.adminPassword);
  // Clients from other hosts of the multi-host harness come from its network (`10.x.y.%`).
  const networks = (info.placement?.clientNetworks ?? []).map(cidrToLike).filter((h): h is string => h !== null);
  const sql = ['127.0.0.1', 'localhost', ...networks]
    .map((host) => {
      const account = `'${info.mysql.adminUser}'@'${host}'`;
      return [
        `CREATE USER IF NOT EXISTS ${account} IDENTIFIED BY PASSWORD '${hash}';`,
        `ALTER USER ${account} IDENTIFIED BY PASSWORD '${hash}';`,
        `GRANT ALL PRIVILEGES ON *.* TO ${account} WITH GRANT OPTION;`,
      ].join('\n');
    })
    .join('\n');
  const res = await run(findBinary('mariadb'), ['--no-defaults', '--protocol=socket', `--socket=${info.mysql.socket}`, '-u', osUser(), '--batch'], `${sql}\n`, 30000);
  if (res.code !== 0) throw new DevstackError(`mariadb: creating the admin user ${info.mysql.adminUser} failed (exit ${res.code}): ${res.out.trim()}`);
}
