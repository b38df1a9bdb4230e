/**
 * Looks at every system with the standard tools, as a sysadmin would:
 * ldapsearch, kadmin, stat, Mailman's REST API, the mail catcher's files.
 */
import { execFile } from 'node:child_process';
import { lstat, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { StackInfo } from '../../tools/devstack/types';

const exec = promisify(execFile);

/** `ldapsearch -LLL` for one filter, as { attr: [values] } per entry. */
export async function ldapsearch(stack: StackInfo, base: string, filter: string): Promise<Record<string, string[]>[]> {
  const { stdout } = await exec('ldapsearch', ['-x', '-LLL', '-o', 'ldif-wrap=no', '-H', stack.ldap.url, '-D', stack.ldap.adminDn, '-w', stack.ldap.adminPassword, '-b', base, filter]);
  return stdout
    .split(/\n\n+/)
    .filter((b) => b.trim())
    .map((block) => {
      const entry: Record<string, string[]> = {};
      for (const line of block.split('\n')) {
        const m = /^([\w-]+):(:?) (.*)$/.exec(line);
        if (!m) continue;
        const value = m[2] ? Buffer.from(m[3]!, 'base64').toString('utf8') : m[3]!;
        (entry[m[1]!] ??= []).push(value);
      }
      return entry;
    });
}

export const ldapUsers = (stack: StackInfo, uid: string) => ldapsearch(stack, stack.ldap.usersBase, `(uid=${uid})`);
export const ldapGroups = (stack: StackInfo, cn: string) => ldapsearch(stack, stack.ldap.groupsBase, `(cn=${cn})`);
export const ldapSudoRoles = (stack: StackInfo, group: string) => ldapsearch(stack, stack.ldap.sudoBase, `(cn=%${group})`);

/** `kadmin getprinc`: the Attributes line, or null when the principal does not exist. */
export async function principal(stack: StackInfo, name: string): Promise<{ attributes: string } | null> {
  const { stdout, stderr } = await exec('kadmin', ['-k', '-t', stack.krb5.adminKeytab, '-p', stack.krb5.adminPrincipal, '-r', stack.realm, '-q', `getprinc ${name}`], {
    env: { ...process.env, KRB5_CONFIG: stack.krb5.config },
  });
  if (/Principal does not exist/.test(stderr)) return null;
  const m = /^Attributes:(.*)$/m.exec(stdout);
  if (!m) throw new Error(`unexpected kadmin output: ${stdout} ${stderr}`);
  return { attributes: m[1]!.trim() };
}

export async function home(stack: StackInfo, uid: string) {
  try {
    const st = await lstat(join(stack.homeRoot, uid));
    return { uid: st.uid, gid: st.gid, isDir: st.isDirectory(), mode: st.mode & 0o7777 };
  } catch {
    return null;
  }
}

export async function mailmanMembers(stack: StackInfo, list: string): Promise<string[]> {
  const auth = Buffer.from(`${stack.mailman.user}:${stack.mailman.password}`).toString('base64');
  const res = await fetch(`${stack.mailman.url}/lists/${list}.${stack.mailman.listDomain}/roster/member`, { headers: { authorization: `Basic ${auth}` } });
  if (!res.ok) throw new Error(`mailman roster ${list}: ${res.status}`);
  const body = (await res.json()) as { entries?: { email: string }[] };
  return (body.entries ?? []).map((e) => e.email);
}

/** Raw messages in the catcher's directory that mention `needle`. */
export async function mailsMentioning(stack: StackInfo, needle: string): Promise<string[]> {
  const out: string[] = [];
  for (const f of await readdir(stack.smtp.mailDir)) {
    const text = await readFile(join(stack.smtp.mailDir, f), 'utf8');
    if (text.includes(needle)) out.push(text);
  }
  return out;
}

/** What a native client said: its exit status and everything it printed. */
export interface ClientRun {
  ok: boolean;
  out: string;
}

function runClient(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<ClientRun> {
  return new Promise((resolve) => {
    execFile(cmd, args, { env: { ...process.env, ...env }, timeout: 20_000 }, (err, stdout, stderr) => resolve({ ok: !err, out: `${stdout}${stderr}` }));
  });
}

/** `mysql` over TCP as `user` (password in MYSQL_PWD, never on the command line), running `sql` in `database`. */
export function mysqlAs(stack: StackInfo, user: string, password: string, database: string, sql: string, at = { host: stack.mysql.host, port: stack.mysql.port }): Promise<ClientRun> {
  return runClient('mysql', ['--no-defaults', '--protocol=TCP', '-h', at.host, '-P', String(at.port), '-u', user, '--batch', '-e', sql, database], { MYSQL_PWD: password });
}

/** `psql` as `user` (password in PGPASSWORD), running `sql` in `database`. */
export function psqlAs(stack: StackInfo, user: string, password: string, database: string, sql: string, at = { host: stack.postgres.host, port: stack.postgres.port }): Promise<ClientRun> {
  return runClient('psql', ['-X', '-v', 'ON_ERROR_STOP=1', '-h', at.host, '-p', String(at.port), '-U', user, '-d', database, '-At', '-c', sql], {
    PGPASSWORD: password,
    PGCONNECT_TIMEOUT: '5',
  });
}

/** As the stack's MySQL admin. */
export const mysqlAdmin = (stack: StackInfo, sql: string) => mysqlAs(stack, stack.mysql.adminUser, stack.mysql.adminPassword, 'mysql', sql);
/** As the stack's PostgreSQL admin. */
export const psqlAdmin = (stack: StackInfo, sql: string) => psqlAs(stack, stack.postgres.adminUser, stack.postgres.adminPassword, 'postgres', sql);
