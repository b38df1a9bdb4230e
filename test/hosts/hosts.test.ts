/**
 * ceod across hosts (issue 14): the API and the admin,fs worker on
 * phosphoric-acid, the mail worker on mail, the db worker and a second API on
 * coffee, each in its own network namespace, reaching the servers (on
 * servers, redis2, mail, coffee) by name only, Redis behind Sentinel with a
 * WAIT for the replica before every 202.
 *
 * Create, renew and delete a member: every step runs on the host that owns its
 * role (the job record's `host`). A member's MySQL and PostgreSQL databases
 * are made on coffee, the info file on phosphoric-acid names coffee, and its
 * password works from the client host. A session cookie from one API host works on
 * the other; the SSE streams of both hosts carry the same job, event for event.
 * Each process listens and connects only by its host's address (a worker's
 * metrics, `[ceod] metrics_listen`, on its host's own loopback).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'ini';
import type { Redis } from 'ioredis';
import { startHostsCeod, type HostsCluster } from '../../tools/hosts/cluster';
import { runOnHost } from '../../tools/hosts/harness';
import { fqdn, topology } from '../../tools/hosts/topology';
import { home, ldapUsers, mailmanMembers, principal } from '../helpers/verify';
import { type ApiHost, apiUrl, callApi, HostTickets, hostsStack, outsideRedis, relayClient } from './stack';

const stack = hostsStack();
let cluster: HostsCluster;
let tickets: HostTickets;
let redis: Redis;

beforeAll(async () => {
  tickets = new HostTickets(stack);
  await tickets.kinit('ctdalek');
  await tickets.kinit('regular1');
  cluster = await startHostsCeod(stack.inside, stack.state, { name: 'hosts' });
  redis = outsideRedis(stack);
}, 120_000);

afterAll(async () => {
  await cluster?.stop();
  redis?.disconnect();
});

async function waitJob(host: ApiHost, id: string, timeoutMs = 60_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await callApi(stack, tickets, host, 'ctdalek', 'GET', `/api/jobs/${id}`);
    if (['completed', 'failed', 'rolled_back'].includes(r.body?.state)) return r.body;
    if (Date.now() > deadline) throw new Error(`job ${id}: ${JSON.stringify(r.body)}`);
    await new Promise((res) => setTimeout(res, 200));
  }
}

/** `[step, host]` for every step of a job. */
const placed = (job: any) => job.steps.map((s: any) => [s.name, s.host]);
const PA = fqdn('phosphoric-acid');
const MAIL = fqdn('mail');
const COFFEE = fqdn('coffee');
const uid = `hx${Math.random().toString(36).slice(2, 7)}`;

test('create, renew and delete a member: each step runs on the host that owns its role', async () => {
  const body = { uid, cn: 'Hosts Test', given_name: 'Hosts', sn: 'Test', program: 'MATH', terms: ['f2099'], forwarding_addresses: [`${uid}@example.org`] };
  const created = await callApi(stack, tickets, 'phosphoric-acid', 'ctdalek', 'POST', '/api/members', body);
  expect(created.status).toBe(202);
  const job = await waitJob('phosphoric-acid', created.body.id);
  expect(job.state).toBe('completed');
  expect(placed(job)).toEqual([
    ['add_ldap_user', PA],
    ['add_personal_group', PA],
    ['add_principal', PA],
    ['create_home', PA],
    ['write_forward', PA],
    ['send_welcome_mail', MAIL],
    ['subscribe_new_member_list', MAIL],
    ['announce_new_member', MAIL],
  ]);
  // What it made, seen from outside as a sysadmin would.
  expect(await ldapUsers(stack.outside, uid)).toHaveLength(1);
  expect(await principal(stack.outside, uid)).not.toBeNull();
  expect((await home(stack.outside, uid))?.isDir).toBe(true);
  expect(await mailmanMembers(stack.outside, 'csc-general')).toContain(`${uid}@${stack.inside.baseDomain}`);

  // Renewed through the other API host: the admin step still runs on phosphoric-acid.
  const renewed = await callApi(stack, tickets, 'coffee', 'ctdalek', 'POST', `/api/members/${uid}/renew`, { terms: ['w2100'] });
  expect(renewed.status).toBe(202);
  const rjob = await waitJob('coffee', renewed.body.id);
  expect(rjob.state).toBe('completed');
  expect(placed(rjob)).toEqual([
    ['add_terms', PA],
    ['restore_shell', PA],
  ]);

  const deleted = await callApi(stack, tickets, 'phosphoric-acid', 'ctdalek', 'DELETE', `/api/members/${uid}`);
  expect(deleted.status).toBe(202);
  const djob = await waitJob('phosphoric-acid', deleted.body.id);
  expect(djob.state).toBe('completed');
  expect(placed(djob)).toEqual([
    ['unsubscribe_all', MAIL],
    ['delete_home', PA],
    ['drop_mysql_database', COFFEE],
    ['drop_postgresql_database', COFFEE],
    ['delete_principal', PA],
    ['delete_personal_group', PA],
    ['leave_groups', PA],
    ['delete_user', PA],
  ]);
  expect(await ldapUsers(stack.outside, uid)).toHaveLength(0);
  expect(await principal(stack.outside, uid)).toBeNull();
}, 120_000);

/**
 * Logs in as a member would from the client host, with the native client, to
 * `host`:`port` by name (the hosts file the client host sees), and makes a
 * table; rejects with the client's output if the server refuses.
 */
function loginFromClient(kind: 'mysql' | 'postgresql', uid: string, password: string, host: string, port: number): Promise<void> {
  const t = topology(stack.inside.dir, stack.state.basePort);
  return kind === 'mysql'
    ? runOnHost(t, 'client', 'mysql', ['--no-defaults', '--protocol=TCP', '-h', host, '-P', String(port), '-u', uid, '--batch', '-e', 'CREATE TABLE notes (id INT)', uid], { env: { MYSQL_PWD: password } })
    : runOnHost(t, 'client', 'psql', ['-X', '-v', 'ON_ERROR_STOP=1', '-h', host, '-p', String(port), '-U', uid, '-d', uid, '-At', '-c', 'CREATE TABLE notes (id int)'], {
        env: { PGPASSWORD: password, PGCONNECT_TIMEOUT: '5' },
      });
}

test('create a database on coffee (the db role): the info file names coffee, and its password works from the client host', async () => {
  const member = `hd${Math.random().toString(36).slice(2, 7)}`;
  const made = await callApi(stack, tickets, 'phosphoric-acid', 'ctdalek', 'POST', '/api/members', { uid: member, cn: 'Hosts Db', given_name: 'Hosts', sn: 'Db', program: 'MATH', terms: ['f2099'] });
  expect(made.status).toBe(202);
  expect((await waitJob('phosphoric-acid', made.body.id)).state).toBe('completed');

  // Asked of either API host: the db steps run on coffee, the info file is written on phosphoric-acid (fs).
  for (const [kind, api, port] of [
    ['mysql', 'phosphoric-acid', stack.inside.mysql.port],
    ['postgresql', 'coffee', stack.inside.postgres.port],
  ] as const) {
    const res = await callApi(stack, tickets, api, 'ctdalek', 'POST', `/api/db/${kind}/${member}`);
    expect(res.status).toBe(202);
    const job = await waitJob(api, res.body.id);
    expect([job.state, job.error]).toEqual(['completed', undefined]);
    expect(placed(job)).toEqual([
      ['check_database', COFFEE],
      ['create_database', COFFEE],
      ['write_database_info', PA],
    ]);
    const info = readFileSync(join(stack.inside.homeRoot, member, `ceo-${kind}-info`), 'utf8');
    const value = (key: string) => info.split('\n').find((l) => l.startsWith(`${key}:`))?.slice(key.length + 1).trim();
    // Where members connect: coffee by name ([mysql] / [postgresql] hostname), never a loopback address.
    expect([value('Hostname'), Number(value('Port'))]).toEqual([COFFEE, port]);
    expect(value('Password')).toBe(job.result.password);
    await expect(loginFromClient(kind, member, job.result.password, COFFEE, port)).resolves.toBeUndefined();
    await expect(loginFromClient(kind, member, `${job.result.password}x`, COFFEE, port)).rejects.toThrow(/Access denied|password authentication failed/);
  }

  // Deleting the member drops both, on coffee.
  const deleted = await callApi(stack, tickets, 'phosphoric-acid', 'ctdalek', 'DELETE', `/api/members/${member}`);
  expect(deleted.status).toBe(202);
  const djob = await waitJob('phosphoric-acid', deleted.body.id);
  expect(djob.state).toBe('completed');
  expect(djob.result).toMatchObject({ mysql_dropped: true, postgresql_dropped: true });
  for (const kind of ['mysql', 'postgresql'] as const) {
    const at = kind === 'mysql' ? stack.inside.mysql.port : stack.inside.postgres.port;
    await expect(loginFromClient(kind, member, 'any', COFFEE, at)).rejects.toThrow(/Access denied|password authentication failed/);
  }
}, 180_000);

test('a session cookie from one API host works on the other; SSE from either host sees the same job', async () => {
  // The handshake on phosphoric-acid sets the cookie …
  const first = await callApi(stack, tickets, 'phosphoric-acid', 'regular1', 'GET', '/api/members/regular1');
  expect(first.status).toBe(200);
  const set = first.headers.getSetCookie().find((c) => c.startsWith('ceod_session='));
  expect(set).toBeDefined();
  const cookie = /^ceod_session=([^;]*)/.exec(set!)![1]!;
  // … and coffee, which never saw regular1's ticket, accepts it: the key derives from the secrets key both hosts share.
  const other = await callApi(stack, tickets, 'coffee', null, 'GET', '/api/members/regular1', undefined, { cookie: `ceod_session=${cookie}` });
  expect(other.status).toBe(200);
  expect(other.body.uid).toBe('regular1');
  expect(other.body).toHaveProperty('forwarding_addresses'); // shown only to the member themself: it is regular1's session
  // A write with the cookie on coffee is regular1's job.
  const patch = await callApi(stack, tickets, 'coffee', null, 'PATCH', '/api/members/regular1', { login_shell: '/bin/bash' }, { cookie: `ceod_session=${cookie}` });
  expect(patch.status).toBe(202);

  // The same job's events from both hosts, read live while it runs.
  const u = `hs${Math.random().toString(36).slice(2, 7)}`;
  const res = await callApi(stack, tickets, 'phosphoric-acid', 'ctdalek', 'POST', '/api/members', { uid: u, cn: 'SSE Test', given_name: 'SSE', sn: 'Test', program: 'MATH', terms: ['f2099'] });
  expect(res.status).toBe(202);
  const read = async (host: ApiHost) => {
    const r = await fetch(`${apiUrl(stack, host)}${res.body.events_url}`, { headers: { authorization: `Negotiate ${await tickets.token('ctdalek', host)}`, accept: 'text/event-stream' }, signal: AbortSignal.timeout(60_000) });
    expect(r.status).toBe(200);
    const text = await r.text(); // the stream ends after the job's final event
    return [...text.matchAll(/^id: (\S+)\nevent: (\w+)$/gm)].map((m) => `${m[1]} ${m[2]}`);
  };
  const [a, b] = await Promise.all([read('phosphoric-acid'), read('coffee')]);
  expect(a.length).toBeGreaterThan(2);
  expect(a[a.length - 1]).toMatch(/ completed$/);
  expect(b).toEqual(a);
  // Clean up the member this test made.
  const del = await callApi(stack, tickets, 'coffee', 'ctdalek', 'DELETE', `/api/members/${u}`);
  expect((await waitJob('coffee', del.body.id)).state).toBe('completed');
}, 120_000);

test("each process listens on its own host's address only, and meets the others only in Redis", async () => {
  const t = topology(stack.inside.dir, stack.state.basePort);
  const listening = (host: 'phosphoric-acid' | 'coffee' | 'mail') =>
    execFileSync('ip', ['netns', 'exec', t.netns(host), 'ss', '-Hltn'], { encoding: 'utf8' })
      .split('\n')
      .map((l) => l.trim().split(/\s+/)[3])
      .filter(Boolean);
  // The API on the host's address; the admin,fs worker's metrics on the host's own loopback, which no other host reaches.
  const metrics = parse(readFileSync(cluster.configs['phosphoric-acid/worker'], 'utf8')).ceod.metrics_listen as string;
  expect(metrics).toMatch(/^127\.0\.0\.1:\d+$/);
  expect(listening('phosphoric-acid').sort()).toEqual([`${stack.state.addresses['phosphoric-acid']}:${stack.inside.ports.ceodApi}`, metrics].sort());
  expect(listening('coffee')).toContain(`${stack.state.addresses.coffee}:${stack.inside.ports.ceodApi}`);
  for (const l of [...listening('coffee'), ...listening('mail')]) expect(l).not.toMatch(/^(0\.0\.0\.0|\*|\[::\]):/);
  // The master's clients: ceod's connections come from the three ceod hosts' addresses, nowhere else.
  const master = relayClient(stack, (await masterService()) as 'redis' | 'redis-replica');
  await master.connect();
  const list = String(await master.client('LIST'));
  master.disconnect();
  const ceodAddrs = new Set(
    list
      .split('\n')
      .filter((l) => / name=ceod-(worker|producer|subscriber) /.test(l))
      .map((l) => /addr=([\d.]+):/.exec(l)![1]),
  );
  expect([...ceodAddrs].sort()).toEqual([stack.state.addresses.coffee, stack.state.addresses.mail, stack.state.addresses['phosphoric-acid']].sort());
});

async function masterService(): Promise<string> {
  const role = async (name: 'redis' | 'redis-replica') => {
    const c = relayClient(stack, name);
    try {
      await c.connect();
      return ((await c.call('ROLE')) as string[])[0];
    } finally {
      c.disconnect();
    }
  };
  return (await role('redis')) === 'master' ? 'redis' : 'redis-replica';
}
