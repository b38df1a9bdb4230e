/**
 * Member databases end to end: `POST /api/db/{mysql,postgresql}/:uid[/pwreset]`
 * through the API and the role workers as processes, with real SPNEGO
 * tickets, checked with the native clients: `mysql` and `psql` log in as the
 * member with the password read from the info file (the last word of its
 * `Password` line) and make a table. Hostile homes (a symlinked info file, a
 * symlinked home) are refused with nothing outside the home touched and the
 * database rolled back; a database server stopped for 10 s mid-job is ridden
 * out; delete member and delete club drop both databases, and a club's
 * delete stopped halfway is finished by deleting again.
 *
 * Accounts made here have random names with an `_` (the name rule allows
 * it); regular1 (a seeded member) acts for itself, and its databases and info
 * files are removed afterwards.
 */
import { lstatSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MemberDatabase } from '../../src/core/ports';
import { createMysql } from '../../src/mysql';
import { createPostgresql } from '../../src/postgresql';
import { call, type CeodCluster, exec, runJob, startCeod, Tickets, waitForJob, seedTickets } from '../helpers/ceod';
import { startService, stopService, testStack } from '../helpers/stack';
import { ldapUsers, mysqlAdmin, mysqlAs, psqlAdmin, psqlAs } from '../helpers/verify';

const stack = testStack();
const tag = Math.random().toString(36).slice(2, 6).replace(/[^a-z0-9]/g, 'x');
let seq = 0;
/** A fresh account name with an `_`, e.g. `d_k3x9_2`. */
const newUid = () => `d_${tag}_${(seq++).toString(36)}`;
const KINDS = ['mysql', 'postgresql'] as const;
type Kind = (typeof KINDS)[number];

let cluster: CeodCluster;
let tickets: Tickets;
let mysql: MemberDatabase;
let postgresql: MemberDatabase;
const adapters = () => ({ mysql, postgresql });
/** A directory outside every home, with a file only root may read: a hostile link points here. */
let outside: string;
const precious = () => join(outside, 'shadow');
const outsideState = () => readdirSync(outside).map((f) => [f, readFileSync(join(outside, f), 'utf8'), lstatSync(join(outside, f)).uid]);

beforeAll(async () => {
  tickets = await seedTickets(stack);
  // Steps patient enough for a 10 s outage whatever the jitter (20 attempts, up to 2 s apart). Every
  // host: a step job's attempts are set by whoever dispatches it, the API for a first step.
  // The API forgets a caller's groups after 1 s: the club test adds regular1 to a group.
  cluster = await startCeod(stack, { name: 'dbs', edits: { all: { ceod: { step_attempts: 20 } }, api: { ceod: { step_attempts: 20, role_cache_ttl_ms: 1000 } } } });
  mysql = createMysql({ host: stack.mysql.host, port: stack.mysql.port, user: stack.mysql.adminUser, password: stack.mysql.adminPassword, timeoutMs: 5000, poolSize: 1 });
  postgresql = createPostgresql({ host: stack.postgres.host, port: stack.postgres.port, user: stack.postgres.adminUser, password: stack.postgres.adminPassword, timeoutMs: 5000, poolSize: 1 });
  outside = mkdtempSync(join(tmpdir(), 'ceod-dbs-outside-'));
  writeFileSync(precious(), 'root:*:19000:0:99999:7:::\n', { mode: 0o600 });
  for (const kind of KINDS) await adapters()[kind].drop('regular1');
}, 60_000);

afterAll(async () => {
  for (const kind of KINDS) {
    await adapters()[kind]?.drop('regular1').catch(() => undefined);
    for (const f of [`ceo-${kind}-info`, `ceo-${kind}-info.old`]) rmSync(join(stack.homeRoot, 'regular1', f), { force: true });
  }
  for (const uid of made) for (const kind of KINDS) await adapters()[kind]?.drop(uid).catch(() => undefined);
  await mysql?.close();
  await postgresql?.close();
  await cluster?.stop();
  if (outside) rmSync(outside, { recursive: true, force: true });
});

const made: string[] = [];

/** A member made through the API (by office), with its uid number. */
async function member(uid = newUid()): Promise<{ uid: string; uidNumber: number }> {
  made.push(uid);
  const job = await runJob(cluster, tickets, 'office1', 'POST', '/api/members', { uid, cn: `Db ${uid}`, terms: ['f2099'] });
  return { uid, uidNumber: job.result.uidNumber };
}

const infoPath = (uid: string, kind: Kind) => join(stack.homeRoot, uid, `ceo-${kind}-info`);

/** The info file as members' scripts read it: `Key: value` lines; the password is the last word of the `Password` line. */
function readInfo(uid: string, kind: Kind) {
  const text = readFileSync(infoPath(uid, kind), 'utf8');
  const value = (key: string) => text.split('\n').find((l) => l.startsWith(`${key}:`))?.slice(key.length + 1).trim();
  const password = text.split('\n').find((l) => l.startsWith('Password'))!.split(/\s+/).pop()!;
  return { text, password, database: value('Database')!, user: value('Username')!, host: value('Hostname')!, port: Number(value('Port')) };
}

/** Logs in as the member with what the info file says, and runs `sql` in their database. */
function login(info: ReturnType<typeof readInfo>, kind: Kind, sql: string, as = { user: info.user, password: info.password }) {
  const at = { host: info.host, port: info.port };
  return kind === 'mysql' ? mysqlAs(stack, as.user, as.password, info.database, sql, at) : psqlAs(stack, as.user, as.password, info.database, sql, at);
}

/** Whether the server has a database or a user of that name, asked as its admin. */
async function onServer(kind: Kind, name: string): Promise<{ database: boolean; user: boolean }> {
  if (kind === 'mysql') {
    const db = (await mysqlAdmin(stack, `SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '${name}'`)).out;
    const user = (await mysqlAdmin(stack, `SELECT COUNT(*) FROM mysql.user WHERE User = '${name}'`)).out;
    return { database: /\n1\n?$/.test(db), user: /\n1\n?$/.test(user) };
  }
  const db = (await psqlAdmin(stack, `SELECT COUNT(*) FROM pg_database WHERE datname = '${name}'`)).out.trim();
  const user = (await psqlAdmin(stack, `SELECT COUNT(*) FROM pg_roles WHERE rolname = '${name}'`)).out.trim();
  return { database: db === '1', user: user === '1' };
}

describe.each(KINDS)('%s', (kind) => {
  test('a member creates their own database; the native client logs in with the info file’s password and makes a table', async () => {
    const job = await runJob(cluster, tickets, 'regular1', 'POST', `/api/db/${kind}/regular1`);
    expect(job.type).toBe('create_database');
    expect(job.steps.map((s: any) => [s.name, s.role, s.state])).toEqual([
      ['check_database', 'db', 'completed'],
      ['create_database', 'db', 'completed'],
      ['write_database_info', 'fs', 'completed'],
    ]);
    expect(job.steps[0].host).toMatch(/^coffee\./);
    const info = readInfo('regular1', kind);
    expect(job.result.password).toBe(info.password);
    expect(info).toMatchObject({ database: 'regular1', user: 'regular1', host: stack.mysql.host, port: kind === 'mysql' ? stack.mysql.port : stack.postgres.port });
    expect(info.text.split('\n')[0]).toBe(`${kind === 'mysql' ? 'MySQL' : 'PostgreSQL'} Database Information for regular1`);
    const st = lstatSync(infoPath('regular1', kind));
    expect([st.isFile(), st.uid, st.mode & 0o7777]).toEqual([true, stack.users.regular1.uidNumber, 0o600]);

    const made = await login(info, kind, 'CREATE TABLE notes (id int); INSERT INTO notes VALUES (7); SELECT id FROM notes');
    expect(made).toMatchObject({ ok: true });
    expect(made.out).toContain('7');

    // The password: for the requester only, never in the logs.
    expect((await call(cluster, tickets, 'ctdalek', 'GET', `/api/jobs/${job.id}`)).body.result.password).toBeUndefined();
    for (const name of ['api', 'admin', 'fs', 'mail', 'db'] as const) expect(cluster.logs(name)).not.toContain(info.password);
  }, 90_000);

  test('a second create is a 409, before anything is enqueued', async () => {
    const res = await call(cluster, tickets, 'regular1', 'POST', `/api/db/${kind}/regular1`);
    expect(res.status).toBe(409);
    expect(res.body.error).toMatchObject({ code: 'DB_EXISTS', field: 'uid' });
  });

  test('pwreset: a new password works, the old one no longer does, and the old file is kept as .old', async () => {
    const old = readInfo('regular1', kind);
    const job = await runJob(cluster, tickets, 'regular1', 'POST', `/api/db/${kind}/regular1/pwreset`);
    expect(job.type).toBe('reset_database_password');
    const info = readInfo('regular1', kind);
    expect(info.password).not.toBe(old.password);
    expect(job.result.password).toBe(info.password);
    expect(readFileSync(`${infoPath('regular1', kind)}.old`, 'utf8')).toBe(old.text);
    expect((await login(info, kind, 'SELECT id FROM notes')).out).toContain('7');
    expect((await login(old, kind, 'SELECT 1')).ok).toBe(false);
  }, 90_000);

  test('another member cannot connect to the database', async () => {
    const other = await member();
    await runJob(cluster, tickets, 'ctdalek', 'POST', `/api/db/${kind}/${other.uid}`);
    const theirs = readInfo(other.uid, kind);
    // Their own database: fine. regular1's, with their own credentials: refused.
    expect((await login(theirs, kind, 'SELECT 1')).ok).toBe(true);
    const intrusion = await login(readInfo('regular1', kind), kind, 'SELECT 1', { user: theirs.user, password: theirs.password });
    expect(intrusion.ok).toBe(false);
    expect(intrusion.out).toMatch(/denied/i);
  }, 90_000);

  test('pwreset without a database is a 404; a member may not touch another member’s database, office neither', async () => {
    const { uid } = await member();
    const missing = await call(cluster, tickets, 'ctdalek', 'POST', `/api/db/${kind}/${uid}/pwreset`);
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('DB_NO_SUCH_DATABASE');
    for (const [as, path] of [
      ['regular1', `/api/db/${kind}/${uid}`],
      ['office1', `/api/db/${kind}/regular1/pwreset`],
    ] as const) {
      expect((await call(cluster, tickets, as, 'POST', path)).status).toBe(403);
    }
  }, 90_000);
});

test('a club’s database: any member of the club’s group may make it; the file is the club’s', async () => {
  const club = newUid();
  made.push(club);
  await runJob(cluster, tickets, 'ctdalek', 'POST', '/api/groups', { cn: club, description: `Club ${club}` });
  expect((await call(cluster, tickets, 'regular1', 'POST', `/api/db/postgresql/${club}`)).status).toBe(403);
  await runJob(cluster, tickets, 'ctdalek', 'POST', `/api/groups/${club}/members/regular1?subscribe_to_lists=false`);
  // The role cache (1 s here) may still hold regular1's groups from before: ask until it lets go.
  let res = await call(cluster, tickets, 'regular1', 'POST', `/api/db/postgresql/${club}`);
  for (let i = 0; res.status === 403 && i < 40; i++) {
    await new Promise((r) => setTimeout(r, 1000));
    res = await call(cluster, tickets, 'regular1', 'POST', `/api/db/postgresql/${club}`);
  }
  expect(res.status).toBe(202);
  const job = await waitForJob(cluster, tickets, 'regular1', res.body.id);
  expect(job.state).toBe('completed');
  expect(job.payload).toMatchObject({ account: 'club' });
  const number = Number((await ldapUsers(stack, club))[0]!.uidNumber![0]);
  const st = lstatSync(infoPath(club, 'postgresql'));
  expect([st.uid, st.mode & 0o7777]).toEqual([number, 0o600]);
  expect((await login(readInfo(club, 'postgresql'), 'postgresql', 'CREATE TABLE members (uid text)')).ok).toBe(true);
  expect((await call(cluster, tickets, 'office1', 'POST', `/api/db/mysql/${club}`)).status).toBe(403);
}, 120_000);

describe('hostile homes: refused, nothing outside the home touched, the database rolled back', () => {
  test('the info file is a symlink to a root-only file', async () => {
    const { uid } = await member();
    symlinkSync(precious(), infoPath(uid, 'mysql'));
    const before = outsideState();
    const res = await call(cluster, tickets, 'ctdalek', 'POST', `/api/db/mysql/${uid}`);
    const job = await waitForJob(cluster, tickets, 'ctdalek', res.body.id);
    expect(job.state).toBe('rolled_back');
    expect(job.error).toMatchObject({ step: 'write_database_info', code: 'HOME_UNSAFE_PATH' });
    expect(job.undone).toEqual(['create_database']);
    expect(outsideState()).toEqual(before);
    expect(lstatSync(infoPath(uid, 'mysql')).isSymbolicLink()).toBe(true);
    expect(await onServer('mysql', uid)).toEqual({ database: false, user: false });
    expect(job.result.password).toBeUndefined();
  }, 90_000);

  test('the home itself is a symlink to another directory', async () => {
    const { uid } = await member();
    const home = join(stack.homeRoot, uid);
    const aside = `${home}.aside`;
    renameSync(home, aside);
    symlinkSync(outside, home);
    const before = outsideState();
    try {
      const res = await call(cluster, tickets, 'ctdalek', 'POST', `/api/db/postgresql/${uid}`);
      const job = await waitForJob(cluster, tickets, 'ctdalek', res.body.id);
      expect(job.state).toBe('rolled_back');
      expect(job.error).toMatchObject({ step: 'write_database_info', code: 'HOME_UNSAFE_PATH' });
      expect(outsideState()).toEqual(before);
      expect(await onServer('postgresql', uid)).toEqual({ database: false, user: false });
    } finally {
      rmSync(home);
      renameSync(aside, home);
    }
  }, 90_000);

  test('a database that existed before the job is never dropped by its undo', async () => {
    const { uid } = await member();
    // The API checks with the server; the database appears after that check, before the db step runs.
    await cluster.kill('db');
    let id = '';
    try {
      const res = await call(cluster, tickets, 'ctdalek', 'POST', `/api/db/mysql/${uid}`);
      expect(res.status).toBe(202);
      id = res.body.id;
      await mysql.create(uid, 'MadeByHandPw123');
    } finally {
      await cluster.start('db');
    }
    const job = await waitForJob(cluster, tickets, 'ctdalek', id);
    expect(job.state).toBe('rolled_back');
    expect(job.error).toMatchObject({ step: 'check_database', code: 'DB_EXISTS' });
    expect(await onServer('mysql', uid)).toEqual({ database: true, user: true });
    expect((await mysqlAs(stack, uid, 'MadeByHandPw123', uid, 'SELECT 1')).ok).toBe(true);

    // A reset whose info file is refused: nothing to undo, the database stays.
    symlinkSync(precious(), infoPath(uid, 'mysql'));
    const reset = await call(cluster, tickets, 'ctdalek', 'POST', `/api/db/mysql/${uid}/pwreset`);
    const failed = await waitForJob(cluster, tickets, 'ctdalek', reset.body.id);
    expect(failed.state).toBe('rolled_back');
    expect(failed.undone).toEqual([]);
    expect(await onServer('mysql', uid)).toEqual({ database: true, user: true });
    rmSync(infoPath(uid, 'mysql'));
  }, 120_000);
});

test.each(KINDS)('%s stopped for 10 s mid-job: the job retries and completes', async (kind) => {
  const { uid } = await member();
  const service = kind === 'mysql' ? 'mariadb' : 'postgres';
  await stopService(stack, service);
  let id = '';
  try {
    // The API cannot ask the stopped server: it enqueues anyway, and the db step retries.
    const res = await call(cluster, tickets, 'ctdalek', 'POST', `/api/db/${kind}/${uid}`);
    expect(res.status).toBe(202);
    id = res.body.id;
    await new Promise((r) => setTimeout(r, 10_000));
  } finally {
    await startService(stack, service);
  }
  const job = await waitForJob(cluster, tickets, 'ctdalek', id, 90_000);
  expect([job.state, job.error]).toEqual(['completed', undefined]);
  expect(job.steps[0].attempts).toBeGreaterThan(1);
  expect((await login(readInfo(uid, kind), kind, 'SELECT 1')).ok).toBe(true);
}, 150_000);

test('delete member drops both databases and users', async () => {
  const { uid } = await member();
  for (const kind of KINDS) await runJob(cluster, tickets, 'ctdalek', 'POST', `/api/db/${kind}/${uid}`);
  for (const kind of KINDS) expect(await onServer(kind, uid)).toEqual({ database: true, user: true });
  const job = await runJob(cluster, tickets, 'ctdalek', 'DELETE', `/api/members/${uid}`);
  expect(job.result).toMatchObject({ mysql_dropped: true, postgresql_dropped: true, user_removed: true });
  for (const kind of KINDS) expect(await onServer(kind, uid)).toEqual({ database: false, user: false });
}, 120_000);

describe('delete a club drops the club account’s databases', () => {
  /** A club, with both its databases (syscom may make them for any account). */
  async function clubWithDatabases(): Promise<string> {
    const club = newUid();
    made.push(club);
    await runJob(cluster, tickets, 'ctdalek', 'POST', '/api/groups', { cn: club, description: `Club ${club}` });
    for (const kind of KINDS) await runJob(cluster, tickets, 'ctdalek', 'POST', `/api/db/${kind}/${club}`);
    for (const kind of KINDS) expect(await onServer(kind, club)).toEqual({ database: true, user: true });
    return club;
  }

  test('both databases and users are gone, dropped on the db host after the sudo role and before the club user; then nothing is left to delete', async () => {
    const club = await clubWithDatabases();
    const job = await runJob(cluster, tickets, 'ctdalek', 'DELETE', `/api/groups/${club}`);
    expect(job.steps.map((s: any) => [s.name, s.role, s.host.split('.')[0]])).toEqual([
      ['remove_sudo_role', 'admin', 'phosphoric-acid'],
      ['drop_mysql_database', 'db', 'coffee'],
      ['drop_postgresql_database', 'db', 'coffee'],
      ['remove_club_user', 'admin', 'phosphoric-acid'],
      ['remove_group', 'admin', 'phosphoric-acid'],
      ['delete_club_home', 'fs', 'phosphoric-acid'],
    ]);
    expect(job.result).toMatchObject({ sudo_role_removed: true, mysql_dropped: true, postgresql_dropped: true, user_removed: true, group_removed: true, home_removed: true });
    for (const kind of KINDS) expect(await onServer(kind, club)).toEqual({ database: false, user: false });
    expect(await ldapUsers(stack, club)).toEqual([]);
    // Deleting again: nothing of the club is left (404), and nothing is dropped.
    expect((await call(cluster, tickets, 'ctdalek', 'DELETE', `/api/groups/${club}`)).status).toBe(404);
  }, 120_000);

  test('a delete stopped halfway (the PostgreSQL role cannot be dropped yet) is finished by deleting again; what is already gone is no error', async () => {
    const club = await clubWithDatabases();
    // A privilege on another database depends on the club's role: DROP ROLE refuses (2BP01) for good,
    // after the MySQL database and user and the PostgreSQL database are gone.
    const hold = `ceod_hold_${club}`;
    expect(await psqlAdmin(stack, `CREATE DATABASE ${hold}`)).toMatchObject({ ok: true });
    try {
      expect(await psqlAdmin(stack, `GRANT CONNECT ON DATABASE ${hold} TO ${club}`)).toMatchObject({ ok: true });
      const res = await call(cluster, tickets, 'ctdalek', 'DELETE', `/api/groups/${club}`);
      expect(res.status).toBe(202);
      const first = await waitForJob(cluster, tickets, 'ctdalek', res.body.id);
      expect(first.state).toBe('rolled_back');
      expect(first.error).toMatchObject({ step: 'drop_postgresql_database', code: 'DB_REFUSED' });
      expect(first.steps.map((s: any) => s.state)).toEqual(['completed', 'completed', 'failed', 'pending', 'pending', 'pending']);
      expect(await onServer('mysql', club)).toEqual({ database: false, user: false });
      expect(await onServer('postgresql', club)).toEqual({ database: false, user: true });
      expect(await ldapUsers(stack, club)).toHaveLength(1);
    } finally {
      expect(await psqlAdmin(stack, `DROP DATABASE IF EXISTS ${hold}`)).toMatchObject({ ok: true });
    }
    const again = await runJob(cluster, tickets, 'ctdalek', 'DELETE', `/api/groups/${club}`);
    expect(again.result).toMatchObject({ sudo_role_removed: false, mysql_dropped: false, postgresql_dropped: true, user_removed: true, group_removed: true, home_removed: true });
    for (const kind of KINDS) expect(await onServer(kind, club)).toEqual({ database: false, user: false });
    expect(await ldapUsers(stack, club)).toEqual([]);
  }, 150_000);
});

test('the curl a member would type: an empty POST with --negotiate', async () => {
  const { uid } = await member();
  // Only regular1 has a ticket among members; syscom may ask for anyone.
  const env = { ...tickets.env(), KRB5CCNAME: tickets.ccache };
  await exec('kswitch', ['-p', 'ctdalek'], { env });
  const { stdout } = await exec('curl', ['-sS', '-w', '\n%{http_code}', '--negotiate', '-u', ':', '--service-name', 'ceod', '-X', 'POST', `${cluster.url}/api/db/mysql/${uid}`], { env });
  const [json, status] = stdout.split('\n');
  expect(status).toBe('202');
  const job = await waitForJob(cluster, tickets, 'ctdalek', JSON.parse(json!).id);
  expect(job.state).toBe('completed');
  expect((await login(readInfo(uid, 'mysql'), 'mysql', 'SELECT 1')).ok).toBe(true);
}, 90_000);
