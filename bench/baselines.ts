/**
 * Baselines of scenario 1: the same writes a create-member does, done directly
 * with the native tools and clients, each backend alone.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chown, cp, mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Client } from 'ldapts';
import { createTransport } from 'nodemailer';
import type { StackInfo } from '../tools/devstack';
import { createConnection } from 'mysql2/promise';
import { Client as PgClient, escapeIdentifier, escapeLiteral } from 'pg';
import { createKadmin } from '../src/krb5/kadmin';
import { grantPattern, nativePasswordHash } from '../src/mysql';
import { scramVerifier } from '../src/postgresql';
import { announcement, welcomeMail } from '../src/jobs/mail-templates';
import { pool } from './http';

export interface Rate {
  name: string;
  ops: number;
  concurrency: number;
  seconds: number;
  per_s: number;
}

async function timed(name: string, ops: number, concurrency: number, op: (i: number) => Promise<void>): Promise<Rate> {
  const t0 = process.hrtime.bigint();
  await pool(ops, concurrency, op);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return { name, ops, concurrency, seconds, per_s: ops / seconds };
}

/** ldapts on one bound connection: a People entry + its personal group per member. */
export async function ldapBaseline(info: StackInfo, tag: string, ops: number, concurrency: number, firstNumber: number): Promise<Rate> {
  const client = new Client({ url: info.ldap.url });
  await client.bind(info.ldap.adminDn, info.ldap.adminPassword);
  try {
    return await timed('ldap user+group (ldapts)', ops, concurrency, async (i) => {
      const uid = `${tag}l${i}`;
      const n = String(firstNumber + i);
      await client.add(`uid=${uid},${info.ldap.usersBase}`, {
        objectClass: ['top', 'account', 'posixAccount', 'shadowAccount', 'member'],
        uid,
        cn: `Bench ${uid}`,
        givenName: 'Bench',
        sn: uid,
        uidNumber: n,
        gidNumber: n,
        homeDirectory: `/users/${uid}`,
        loginShell: '/bin/bash',
        program: 'MATH',
        term: 'w2027',
      });
      await client.add(`cn=${uid},${info.ldap.groupsBase}`, {
        objectClass: ['top', 'posixGroup', 'group'],
        cn: uid,
        gidNumber: n,
        description: `personal group of ${uid}`,
        uniqueMember: `uid=${uid},${info.ldap.usersBase}`,
      });
    });
  } finally {
    await client.unbind();
  }
}

/** `kadmin -q addprinc` as the native tool runs: one process per principal, password on stdin. */
export async function kadminBaseline(info: StackInfo, tag: string, ops: number, concurrency: number): Promise<Rate> {
  const env: NodeJS.ProcessEnv = { ...process.env, KRB5_CONFIG: info.krb5.config };
  delete env.KRB5_CLIENT_KTNAME;
  return timed('kadmin addprinc (process per op)', ops, concurrency, async (i) => {
    const pw = randomBytes(12).toString('base64url');
    const args = ['-k', '-t', info.krb5.adminKeytab, '-p', info.krb5.adminPrincipal, '-r', info.realm, '-q', `addprinc +needchange ${tag}k${concurrency}x${i}`];
    await new Promise<void>((resolve, reject) => {
      const child = spawn('kadmin', args, { env, stdio: ['pipe', 'ignore', 'pipe'] });
      let err = '';
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      child.on('error', reject);
      child.on('close', (code) => {
        if (code !== 0 || /while creating/.test(err)) reject(new Error(`kadmin addprinc: ${code} ${err.trim()}`));
        else resolve();
      });
      child.stdin.end(`${pw}\n${pw}\n`);
    });
  });
}

/** mkdir + copy the skeleton + chown, as the fs step does it. */
export async function homeBaseline(info: StackInfo, tag: string, ops: number, concurrency: number, firstNumber: number): Promise<Rate> {
  const root = join(info.homeRoot, `.bench-${tag}-c${concurrency}`);
  await mkdir(root, { recursive: true });
  return timed('home dir mkdir+skel+chown', ops, concurrency, async (i) => {
    const dir = join(root, `u${i}`);
    const n = firstNumber + i;
    await mkdir(dir, { mode: 0o755 });
    await cp(info.skelDir, dir, { recursive: true });
    await chown(dir, n, n);
    for (const f of await readdir(dir)) await chown(join(dir, f), n, n);
  });
}

/** Mailman REST subscribe to the new-member list, pre-approved, no welcome message. */
export async function mailmanBaseline(info: StackInfo, tag: string, ops: number, concurrency: number): Promise<Rate> {
  const auth = `Basic ${Buffer.from(`${info.mailman.user}:${info.mailman.password}`).toString('base64')}`;
  const listId = `csc-general.${info.mailman.listDomain}`;
  return timed('mailman REST subscribe', ops, concurrency, async (i) => {
    const body = new URLSearchParams({
      list_id: listId,
      subscriber: `${tag}m${concurrency}x${i}@${info.baseDomain}`,
      pre_verified: 'true',
      pre_confirmed: 'true',
      pre_approved: 'true',
      send_welcome_message: 'false',
    });
    const res = await fetch(`${info.mailman.url}/members`, { method: 'POST', headers: { authorization: auth }, body });
    await res.arrayBuffer();
    if (res.status !== 201) throw new Error(`mailman subscribe: HTTP ${res.status}`);
  });
}

/** For reference only (not a baseline): addprinc through ceod's own kadmin adapter, one long-lived session. */
export async function kadminSessionRate(info: StackInfo, tag: string, ops: number): Promise<Rate> {
  const k = createKadmin({ kadminPath: 'kadmin', principal: info.krb5.adminPrincipal, keytab: info.krb5.adminKeytab, realm: info.realm, krb5Config: info.krb5.config, timeoutMs: 10_000 });
  try {
    await k.ping();
    return await timed('kadmin addprinc (ceod session)', ops, 4, async (i) => {
      await k.addPrincipal(`${tag}s${i}`, randomBytes(12).toString('base64url').replace(/[^A-Za-z0-9]/g, 'x'), { needChange: true });
    });
  } finally {
    await k.close();
  }
}

/**
 * Scenario 9's baseline: the statements ceod's database adapters send to make
 * one member's database (the existence check, then the create), run natively
 * one member after another over a single connection per server (mysql2, pg).
 * Returns MySQL, PostgreSQL, and both together (databases per second).
 */
export async function databaseBaseline(info: StackInfo, tag: string, members: number): Promise<{ mysql: Rate; postgresql: Rate; both: Rate }> {
  const my = await createConnection({ host: info.mysql.host, port: info.mysql.port, user: info.mysql.adminUser, password: info.mysql.adminPassword });
  const pg = new PgClient({ host: info.postgres.host, port: info.postgres.port, user: info.postgres.adminUser, password: info.postgres.adminPassword, database: 'postgres' });
  await pg.connect();
  const mysqlOne = async (name: string) => {
    const hash = nativePasswordHash(randomBytes(12).toString('base64url'));
    await my.query(
      'SELECT (SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?) AS db, (SELECT COUNT(*) FROM mysql.user WHERE User = ?) AS users, (SELECT COUNT(*) FROM mysql.user WHERE User = ? AND Host = ?) AS account',
      [name, name, name, '%'],
    );
    await my.query('CREATE DATABASE IF NOT EXISTS ??', [name]);
    await my.query('CREATE USER IF NOT EXISTS ?@? IDENTIFIED BY PASSWORD ?', [name, '%', hash]);
    await my.query('ALTER USER ?@? IDENTIFIED BY PASSWORD ?', [name, '%', hash]);
    await my.query('GRANT ALL PRIVILEGES ON ??.* TO ?@?', [grantPattern(name), name, '%']);
  };
  const pgOne = async (name: string) => {
    const id = escapeIdentifier(name);
    await pg.query('SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1) AS role, EXISTS (SELECT 1 FROM pg_database WHERE datname = $1) AS database', [name]);
    await pg.query(`CREATE ROLE ${id} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD ${escapeLiteral(scramVerifier(randomBytes(12).toString('base64url')))}`);
    await pg.query(`GRANT ${id} TO CURRENT_USER`);
    await pg.query(`CREATE DATABASE ${id} OWNER ${id}`);
    await pg.query(`REVOKE ALL ON DATABASE ${id} FROM PUBLIC`);
  };
  try {
    const mysql = await timed('MySQL database (mysql2, one connection)', members, 1, (i) => mysqlOne(`${tag}bm${i}`));
    const postgresql = await timed('PostgreSQL database (pg, one connection)', members, 1, (i) => pgOne(`${tag}bp${i}`));
    const seconds = mysql.seconds + postgresql.seconds;
    return { mysql, postgresql, both: { name: 'MySQL + PostgreSQL database', ops: 2 * members, concurrency: 1, seconds, per_s: (2 * members) / seconds } };
  } finally {
    await my.end();
    await pg.end();
  }
}

/**
 * Scenario 2's baseline: the eight operations of one create-member, called
 * directly and in sequence from this one process, with the clients a careful
 * script would keep open (one bound LDAP connection, one kadmin session, a
 * pooled SMTP transport, fetch for Mailman): the People entry and the personal
 * group, addprinc, mkdir + skeleton + chown, `.forward`, the welcome mail, the
 * Mailman subscribe, the announcement. `run(i)` does member i and returns its ms.
 */
export async function directCreate(info: StackInfo, tag: string, firstNumber: number): Promise<{ run(i: number): Promise<number>; close(): Promise<void> }> {
  const ldap = new Client({ url: info.ldap.url });
  await ldap.bind(info.ldap.adminDn, info.ldap.adminPassword);
  const kadmin = createKadmin({ kadminPath: 'kadmin', principal: info.krb5.adminPrincipal, keytab: info.krb5.adminKeytab, realm: info.realm, krb5Config: info.krb5.config, timeoutMs: 10_000 });
  await kadmin.ping();
  const smtp = createTransport({ pool: true, host: info.smtp.host, port: info.smtp.port, secure: false, maxConnections: 2 });
  const from = `ceod@${info.baseDomain}`;
  const mailmanAuth = `Basic ${Buffer.from(`${info.mailman.user}:${info.mailman.password}`).toString('base64')}`;
  const listId = `csc-general.${info.mailman.listDomain}`;
  return {
    async run(i: number): Promise<number> {
      const uid = `${tag}d${i}`;
      const n = firstNumber + i;
      const cn = `Bench ${uid}`;
      const address = `${uid}@${info.baseDomain}`;
      const t0 = process.hrtime.bigint();
      await ldap.add(`uid=${uid},${info.ldap.usersBase}`, {
        objectClass: ['top', 'account', 'posixAccount', 'shadowAccount', 'member'],
        uid, cn, givenName: 'Bench', sn: uid, uidNumber: String(n), gidNumber: String(n),
        homeDirectory: join(info.homeRoot, uid), loginShell: '/bin/bash', program: 'MATH', term: 'w2027',
      });
      await ldap.add(`cn=${uid},${info.ldap.groupsBase}`, {
        objectClass: ['top', 'posixGroup', 'group'], cn: uid, gidNumber: String(n), description: `personal group of ${uid}`,
      });
      await kadmin.addPrincipal(uid, randomBytes(12).toString('base64url').replace(/[^A-Za-z0-9]/g, 'x'), { needChange: true });
      const home = join(info.homeRoot, uid);
      await mkdir(home, { mode: 0o755 });
      await cp(info.skelDir, home, { recursive: true });
      await chown(home, n, n);
      for (const f of await readdir(home)) await chown(join(home, f), n, n);
      await writeFile(join(home, '.forward'), `${uid}@example.org\n`, { mode: 0o644, flag: 'wx' });
      await chown(join(home, '.forward'), n, n);
      const welcome = welcomeMail({ uid, cn, domain: info.baseDomain });
      await smtp.sendMail({ from, to: address, subject: welcome.subject, text: welcome.text });
      const res = await fetch(`${info.mailman.url}/members`, {
        method: 'POST',
        headers: { authorization: mailmanAuth },
        body: new URLSearchParams({ list_id: listId, subscriber: address, display_name: cn, pre_verified: 'true', pre_confirmed: 'true', pre_approved: 'true', send_welcome_message: 'false' }),
      });
      await res.arrayBuffer();
      if (res.status !== 201) throw new Error(`mailman subscribe: HTTP ${res.status}`);
      const news = announcement({ uid, cn, program: 'MATH', terms: ['w2027'], nonMemberTerms: [] });
      await smtp.sendMail({ from, to: `ceo@${info.baseDomain}`, subject: news.subject, text: news.text });
      return Number(process.hrtime.bigint() - t0) / 1e6;
    },
    async close() {
      smtp.close();
      await kadmin.close();
      await ldap.unbind();
    },
  };
}
