/**
 * The `ceo` client end to end: `node dist/cli/main.js …` as a user runs it,
 * with their own ticket cache, HOME and XDG_CACHE_HOME, against the API and
 * the four role workers as processes. Every command at least once; progress
 * on a pseudo-terminal (script) and without one; --json; exit codes (a
 * rolled-back job, no ticket, 404/403/409, usage); questions on a terminal;
 * mutual authentication; an SSE connection cut mid-job and resumed with
 * Last-Event-ID; the session cookie kept 0600 in a 0700 directory and reused;
 * a new member making and resetting their own databases, the printed password
 * logging in to the stack's MariaDB and PostgreSQL.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, statSync, chownSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer as createTlsServer } from 'node:tls';
import { createServer as createHttpServer } from 'node:http';
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import type { Command } from 'commander';
import { createConnection } from 'mysql2/promise';
import { Client as PgClient } from 'pg';
import { buildProgram } from '../../src/cli/main';
import { termOf } from '../../src/core/rules/terms';
import { CeoUsers, type CeoResult } from '../helpers/ceo-cli';
import { type CeodCluster, startCeod } from '../helpers/ceod';
import { testStack } from '../helpers/stack';
import { home, ldapUsers, mailmanMembers } from '../helpers/verify';

const stack = testStack();
const newUid = () => `c${Math.random().toString(36).slice(2, 8).replace(/[^a-z0-9]/g, 'x')}`;
const TERM = 'f2099';
const STEPS = ['add_ldap_user', 'add_personal_group', 'add_principal', 'create_home', 'write_forward', 'send_welcome_mail', 'subscribe_new_member_list', 'announce_new_member'];
// The API's clock, fixed so that `ceo members expire` expires nobody another test relies on:
// threshold w2021, while the seed users hold today's term and every test member f2099.
const API_NOW = '2021-03-15T12:00:00Z';

let cluster: CeodCluster;
/**
 * A second API process of the same cluster (same Redis prefix, so the same
 * workers) serving plain HTTP (`tls = off`), for the tests that put a proxy of
 * their own in front of the API: one terminating TLS with another CA, one
 * cutting an event stream.
 */
let plainApi: CeodCluster;
let users: CeoUsers;

const ceo = (args: string[], o: Parameters<CeoUsers['run']>[1]) => users.run(args, o);
const json = (r: CeoResult) => JSON.parse(r.stdout);
const lines = (r: CeoResult) => r.stdout.split('\n').filter(Boolean);
/** The run's output for a failed expectation. */
const dump = (r: CeoResult) => `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
function expectExit(r: CeoResult, code: number) {
  if (r.code !== code) throw new Error(`expected exit ${code}: ${dump(r)}`);
}

beforeAll(async () => {
  cluster = await startCeod(stack, { name: 'cli', env: { CEOD_TEST_NOW: API_NOW } });
  plainApi = await startCeod(stack, { name: 'cli-plain', procs: ['api'], env: { CEOD_TEST_NOW: API_NOW }, edits: { api: { ceod: { tls: 'off' }, redis: { prefix: cluster.prefix } } } });
  users = new CeoUsers(stack, cluster.url);
  for (const u of ['ctdalek', 'office1', 'regular1']) await users.kinit(u);
}, 90_000);

afterAll(async () => {
  await plainApi?.stop();
  await cluster?.stop();
  if (users) rmSync(users.dir, { recursive: true, force: true });
});

/** Creates a member as office1 without a terminal; answers the uid. */
async function addMember(extra: string[] = []): Promise<string> {
  const uid = newUid();
  const r = await ceo(['members', 'add', uid, '--cn', `Cli ${uid}`, '--program', 'MATH', '--terms', TERM, ...extra], { as: 'office1' });
  expectExit(r, 0);
  return uid;
}

describe('usage', () => {
  test('every command prints its help to stdout and exits 0', async () => {
    const paths: string[][] = [];
    const walk = (c: Command, path: string[]) => {
      paths.push(path);
      for (const sub of c.commands) if (sub.name() !== 'help') walk(sub, [...path, sub.name()]);
    };
    walk(buildProgram({} as never), []);
    expect(paths.filter((p) => p.length === 2).map((p) => p.join(' '))).toEqual([
      ...['add', 'get', 'list', 'modify', 'renew', 'pwreset', 'delete', 'expire'].map((c) => `members ${c}`),
      ...['add', 'get', 'search', 'delete', 'addmember', 'removemember'].map((c) => `groups ${c}`),
      'positions get',
      'positions set',
      'mailman subscribe',
      'mailman unsubscribe',
      ...['mysql', 'postgresql'].flatMap((db) => ['create', 'pwreset'].map((c) => `${db} ${c}`)),
      ...['list', 'get', 'watch'].map((c) => `jobs ${c}`),
    ]);
    for (let i = 0; i < paths.length; i += 6) {
      const runs = await Promise.all(paths.slice(i, i + 6).map((p) => ceo([...p, '--help'], { as: null })));
      runs.forEach((r, j) => {
        const p = paths[i + j]!;
        expect([p.join(' '), r.code, r.stderr]).toEqual([p.join(' '), 0, '']);
        expect(r.stdout).toContain(`Usage: ceo${p.length ? ` ${p.join(' ')}` : ''}`);
        if (p.length === 2) expect(r.stdout).toContain('--json');
      });
    }
  }, 120_000);

  test('usage errors exit 2, with one line on stderr', async () => {
    const cases: [string[], RegExp][] = [
      [['members', 'get'], /missing required argument 'uid'/],
      [['members', 'frobnicate'], /unknown command/],
      [['members', 'get', 'x', '--colour'], /unknown option/],
      [['members', 'add', '--cn', 'No Uid'], /missing a uid.*only on a terminal/],
      [['members', 'delete', 'regular1'], /refusing to delete regular1 .*without confirmation: add --yes/],
      [['jobs', 'list', '--since', 'yesterday'], /--since: not a time/],
      [['positions', 'set', 'president'], /not position=uid/],
      [['members', 'modify', 'regular1'], /nothing to change/],
    ];
    for (const [args, message] of cases) {
      const r = await ceo(args, { as: 'regular1' });
      expect([args.join(' '), r.code]).toEqual([args.join(' '), 2]);
      expect(r.stderr).toMatch(message);
      expect(r.stdout).toBe('');
    }
  }, 60_000);
});

describe('authentication', () => {
  test('no ticket: exit 3, saying to run kinit', async () => {
    const r = await ceo(['members', 'get', 'regular1'], { as: null, home: join(users.dir, 'home-fresh') });
    expectExit(r, 3);
    expect(r.stderr).toMatch(/^ceo: no valid Kerberos ticket.*run kinit/);
    expect(r.stdout).toBe('');
  });

  test('the session cookie is kept 0600 in a 0700 directory and reused; a new kinit drops it', async () => {
    const h = join(users.dir, 'home-cookie');
    const run = () => ceo(['members', 'get', 'regular1', '--json'], { as: 'regular1', home: h, env: { CEO_DEBUG: '1' } });
    const first = await run();
    expectExit(first, 0);
    expect(first.stderr).toContain('GET /api/members/regular1 → 200 (Kerberos handshake)');
    const dir = join(h, '.cache', 'ceo');
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    const [file] = readdirSync(dir);
    expect(statSync(join(dir, file!)).mode & 0o777).toBe(0o600);

    const second = await run();
    expectExit(second, 0);
    expect(second.stderr).toBe('ceo: GET /api/members/regular1 → 200 (session cookie)\n');
    expect(json(second)).toEqual(json(first));

    // kinit again (the user may be someone else now): the cookie of the old ticket is not used.
    await users.kinit('regular1');
    const third = await run();
    expect(third.stderr).toContain('(Kerberos handshake)');
    expect(third.stderr).not.toContain('(session cookie)');
  }, 60_000);

  test('mutual authentication is checked: an answer without or with a bad server token is refused (exit 3)', async () => {
    for (const header of [undefined, 'Negotiate YWJjZGVmZ2g=']) {
      const fake = createHttpServer((_req, res) => {
        if (header) res.setHeader('www-authenticate', header);
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ uid: 'regular1', cn: 'Not The Real API' }));
      });
      await new Promise<void>((r) => fake.listen(0, '127.0.0.1', r));
      const url = `http://localhost:${(fake.address() as AddressInfo).port}`;
      try {
        const r = await ceo(['members', 'get', 'regular1'], { as: 'regular1', home: join(users.dir, 'home-mutual'), env: { CEOD_URL: url } });
        expectExit(r, 3);
        expect(r.stderr).toMatch(/mutual authentication|did not prove its identity/);
        expect(r.stdout).not.toContain('Not The Real API');
      } finally {
        fake.close();
      }
    }
  }, 30_000);
});

test('https: verified against [ceod] ca_file from ~/.config/ceo/ceo.ini; an unknown CA is refused', async () => {
  // TLS in front of the API (as a reverse proxy would be), with a certificate for localhost from a CA of its own.
  const dir = join(users.dir, 'tls');
  mkdirSync(dir);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost'], { stdio: 'ignore' });
  const api = new URL(plainApi.url);
  const tls = createTlsServer({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) }, (s) => {
    const up = connect(Number(api.port), '127.0.0.1');
    s.pipe(up).pipe(s);
    s.on('error', () => up.destroy());
    up.on('error', () => s.destroy());
  });
  await new Promise<void>((r) => tls.listen(0, '127.0.0.1', r));
  const url = `https://localhost:${(tls.address() as AddressInfo).port}`;
  try {
    const h = join(users.dir, 'home-tls');
    mkdirSync(join(h, '.config', 'ceo'), { recursive: true });
    writeFileSync(join(h, '.config', 'ceo', 'ceo.ini'), `[ceod]\nurl = ${url}\nca_file = ${join(dir, 'cert.pem')}\n`);
    const env = { CEOD_URL: '', CEO_DEBUG: '1' };
    const ok = await ceo(['members', 'get', 'regular1', '--json'], { as: 'regular1', home: h, env });
    expectExit(ok, 0);
    expect(json(ok)).toMatchObject({ uid: 'regular1' });
    // The Secure cookie came back over https, and is sent again.
    const again = await ceo(['members', 'get', 'regular1', '--json'], { as: 'regular1', home: h, env });
    expect(again.stderr).toContain('(session cookie)');

    writeFileSync(join(h, '.config', 'ceo', 'ceo.ini'), `[ceod]\nurl = ${url}\n`);
    const refused = await ceo(['members', 'get', 'regular1'], { as: 'regular1', home: h, env: { CEOD_URL: '', NODE_EXTRA_CA_CERTS: '' } });
    expectExit(refused, 1);
    expect(refused.stderr).toMatch(/^ceo: cannot reach ceod at https:\/\/localhost:\d+: the server's TLS certificate is not trusted \(\w+\); set \[ceod\] ca_file in ceo\.ini\n$/);
  } finally {
    tls.close();
  }
}, 60_000);

describe('progress', () => {
  test('members add without a terminal: one plain line per event, the password once, exit 0', async () => {
    const uid = newUid();
    const r = await ceo(['members', 'add', uid, '--cn', 'Plain Lines', '--program', 'MATH', '--terms', TERM, '--forward', `${uid}@example.org`], { as: 'office1' });
    expectExit(r, 0);
    const out = lines(r);
    expect(out[0]).toMatch(/^job [0-9a-f-]{36} create_member: 8 steps$/);
    expect(out[1]).toBe('queued create_member (requested by office1)');
    const events = out.slice(2, 19);
    expect(events.map((l) => l.split(' ').slice(0, 2).join(' '))).toEqual([...STEPS.flatMap((s) => [`step_started ${s}`, `step_completed ${s}`]), 'completed']);
    expect(events[0]).toBe('step_started add_ldap_user (admin@phosphoric-acid)');
    expect(events).toContain('step_started subscribe_new_member_list (mail@mail)');
    for (const l of events.filter((e) => e.startsWith('step_completed'))) expect(l).toMatch(/ \d+ ms$|\d\.\d+ s$/);
    expect(out[19]).toMatch(/^job [0-9a-f-]{36} completed in /);
    expect(out.filter((l) => l.startsWith('initial password for '))).toHaveLength(1);
    expect(out.join('\n')).toMatch(new RegExp(`^initial password for ${uid}: \\S{12,} `, 'm'));
    expect(r.stderr).toBe('');
    expect(await ldapUsers(stack, uid)).toHaveLength(1);
    expect(await mailmanMembers(stack, 'csc-general')).toContain(`${uid}@${stack.baseDomain}`);
  }, 60_000);

  test('members add on a terminal: a checklist, ✔ with host and duration per step, then the password', async () => {
    const uid = newUid();
    const r = await ceo(['members', 'add', uid, '--cn', 'On A Terminal', '--program', 'MATH', '--terms', TERM], { as: 'office1', tty: true });
    expectExit(r, 0);
    const screen = r.screen;
    expect(screen[0]).toMatch(/^job [0-9a-f-]{36} create_member$/);
    const steps = screen.slice(1, 9);
    expect(steps).toHaveLength(8);
    for (const l of steps) expect(l).toMatch(/^✔ .+ \((admin|fs|mail)@(phosphoric-acid|mail)\) \d+(\.\d+)? m?s$/);
    expect(steps[0]).toMatch(new RegExp(`^✔ add uid=${uid} to LDAP \\(admin@phosphoric-acid\\) `));
    expect(steps[3]).toMatch(/\(fs@phosphoric-acid\)/);
    expect(steps[6]).toMatch(/\(mail@mail\)/);
    expect(screen[9]).toMatch(/^job [0-9a-f-]{36} completed in /);
    expect(screen.filter((l) => l.startsWith(`initial password for ${uid}: `))).toHaveLength(1);
    // It redrew in place: the raw output holds spinner frames and cursor movements, the screen one line per step.
    expect(r.stdout).toMatch(/\x1b\[1A/);
    expect(screen.filter((l) => l.includes(`add uid=${uid} to LDAP`))).toHaveLength(1);
  }, 60_000);

  test('a rolled-back job: ✘ with the error and the undone steps ↶ on a terminal, then the same as lines; exit 1', async () => {
    const uid = newUid();
    // Someone else's directory where the home must go: create_home fails for good, the job rolls back.
    const planted = join(stack.homeRoot, uid);
    mkdirSync(planted);
    chownSync(planted, 54321, 54321);
    try {
      const r = await ceo(['members', 'add', uid, '--cn', 'Rolled Back', '--program', 'MATH', '--terms', TERM], { as: 'office1', tty: true });
      expectExit(r, 1);
      const s = r.screen.join('\n');
      for (const step of ['add uid=', 'add group', 'add Kerberos principal']) expect(s).toMatch(new RegExp(`^✔ ${step}.* ↶ undone$`, 'm'));
      expect(s).toMatch(new RegExp(`^✘ create home directory of ${uid} \\(fs@phosphoric-acid\\)\\n  › HOME_EXISTS .*belongs to uid 54321$`, 'm'));
      expect(s).toMatch(/^↓ write ~.*\(not run\)$/m);
      expect(s).toMatch(/^✔ Rolled back: 3 steps undone$/m);
      expect(s).toMatch(/^job [0-9a-f-]{36} rolled_back in /m);
      expect(s).toMatch(/^error: HOME_EXISTS .* \(step create_home\)$/m);
      expect(s).not.toMatch(/initial password|uidNumber/);
      expect(await ldapUsers(stack, uid)).toEqual([]);

      // The same job replayed without a terminal: one line per event, exit 1.
      const id = /^job ([0-9a-f-]{36})/.exec(r.screen[0]!)![1]!;
      const w = await ceo(['jobs', 'watch', id], { as: 'office1' });
      expectExit(w, 1);
      const out = lines(w);
      expect(out.slice(1, -2).map((l) => l.split(/[ :]/)[0] + ' ' + (l.split(' ')[1] ?? ''))).toEqual([
        'queued create_member',
        ...['add_ldap_user', 'add_personal_group', 'add_principal'].flatMap((st) => [`step_started ${st}`, `step_completed ${st}`]),
        'step_started create_home',
        'step_failed create_home',
        'step_undone add_principal',
        'step_undone add_personal_group',
        'step_undone add_ldap_user',
        'rolled_back HOME_EXISTS',
      ]);
      expect(out).toContain('step_undone add_ldap_user (admin@phosphoric-acid)');
      expect(out[out.length - 3]).toMatch(/; undone: add_principal, add_personal_group, add_ldap_user$/);
    } finally {
      rmSync(planted, { recursive: true, force: true });
    }
  }, 60_000);

  test('a dropped event stream is resumed with Last-Event-ID: every step line once, none missing', async () => {
    // A TCP proxy in front of the API that cuts the first event stream after three events.
    const api = new URL(plainApi.url);
    const streams: { lastEventId?: string }[] = [];
    const proxy: Server = createServer((client: Socket) => {
      const upstream = connect(Number(api.port), '127.0.0.1');
      let sse: { lastEventId?: string; events: number } | undefined;
      client.on('data', (d) => {
        const text = d.toString('latin1');
        if (/^GET \/api\/jobs\/[^ ]+\/events /m.test(text)) {
          sse = { lastEventId: /^last-event-id: (.+)\r$/im.exec(text)?.[1], events: 0 };
          streams.push(sse);
        }
        upstream.write(d);
      });
      upstream.on('data', (d) => {
        client.write(d);
        if (sse && streams.length === 1) {
          sse.events += (d.toString('latin1').match(/^event: /gm) ?? []).length;
          if (sse.events >= 3) {
            client.destroy();
            upstream.destroy();
          }
        }
      });
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    try {
      const uid = newUid();
      const url = `http://localhost:${(proxy.address() as AddressInfo).port}`;
      const r = await ceo(['members', 'add', uid, '--cn', 'Resumed Stream', '--program', 'MATH', '--terms', TERM], { as: 'office1', env: { CEOD_URL: url, CEO_DEBUG: '1' } });
      expectExit(r, 0);
      expect(streams.length).toBeGreaterThanOrEqual(2);
      expect(streams[0]!.lastEventId).toBeUndefined();
      expect(streams[1]!.lastEventId).toMatch(/^\d+-\d+$/);
      expect(r.stderr).toMatch(/event stream dropped; reconnecting \(1\) after \d+-\d+/);
      expect(r.stderr).toMatch(/GET \/api\/jobs\/[^ ]+\/events \(Last-Event-ID \d+-\d+\) → 200/);
      const events = lines(r).slice(1, 19);
      expect(events.map((l) => l.split(' ').slice(0, 2).join(' '))).toEqual(['queued create_member', ...STEPS.flatMap((s) => [`step_started ${s}`, `step_completed ${s}`]), 'completed']);
    } finally {
      proxy.close();
    }
  }, 60_000);
});

describe('every command against the stack', () => {
  test('members add asks on a terminal for what is missing, the term defaulting to the current one', async () => {
    const uid = newUid();
    const answers: [RegExp, string][] = [
      [/uid \(username\):\s*$/, uid],
      [/full name:\s*$/, 'Asked Interactively'],
      [/program .*:\s*$/, 'MATH'],
      [/terms: \([wsf]\d{4}\)\s*$/, ''],
    ];
    let next = 0;
    const r = await ceo(['members', 'add'], {
      as: 'office1',
      tty: true,
      answer: (out) => {
        const plain = out.replace(/\x1b\[[?\d;]*[A-Za-z]/g, '');
        if (next < answers.length && answers[next]![0].test(plain)) return `${answers[next++]![1]}\r`;
        return undefined;
      },
    });
    expectExit(r, 0);
    expect(next).toBe(answers.length);
    const got = await ceo(['members', 'get', uid, '--json'], { as: 'office1' });
    expect(json(got)).toMatchObject({ uid, cn: 'Asked Interactively', given_name: 'Asked', sn: 'Interactively', program: 'MATH', terms: [termOf(new Date())] });
  }, 60_000);

  test('reads: members get/list, groups get/search, positions get, jobs list/get (text and --json)', async () => {
    const m = await ceo(['members', 'get', 'regular1'], { as: 'regular1' });
    expectExit(m, 0);
    expect(m.stdout).toMatch(/^uid: +regular1$/m);
    expect(m.stdout).toMatch(/^forwarding: /m); // themself: forwarding addresses shown
    const mj = json(await ceo(['members', 'get', 'regular1', '--json'], { as: 'office1' }));
    expect(mj).toMatchObject({ uid: 'regular1' });
    expect(mj.forwarding_addresses).toBeUndefined(); // office staff do not see them

    const list = await ceo(['members', 'list', '--term', TERM, '--limit', '3', '--json'], { as: 'regular1' });
    expect(json(list)).toMatchObject({ offset: 0, limit: 3, total: expect.any(Number) });
    const text = await ceo(['members', 'list', '--term', TERM, '--limit', '2'], { as: 'regular1' });
    expect(lines(text)[0]).toMatch(/^UID +NAME +PROGRAM +TERMS$/);

    const g = await ceo(['groups', 'get', 'syscom'], { as: 'regular1' });
    expectExit(g, 0);
    expect(g.stdout).toMatch(/^group: +syscom$/m);
    expect(g.stdout).toMatch(/ctdalek/);
    expect(json(await ceo(['groups', 'search', 'sys', '--json'], { as: 'regular1' })).groups[0]).toMatchObject({ cn: 'syscom' });

    const p = await ceo(['positions', 'get'], { as: 'regular1' });
    expectExit(p, 0);
    expect(p.stdout).toMatch(/^president: /m);

    const mine = json(await ceo(['jobs', 'list', '--json'], { as: 'office1' }));
    expect(mine.jobs.length).toBeGreaterThan(0);
    expect(mine.jobs.every((j: { requester: string }) => j.requester === 'office1')).toBe(true);
    const rolled = json(await ceo(['jobs', 'list', '--state', 'rolled_back', '--type', 'create_member', '--since', '1h', '--json'], { as: 'ctdalek' }));
    expect(rolled.jobs.every((j: { state: string }) => j.state === 'rolled_back')).toBe(true);
    const table = await ceo(['jobs', 'list', '--limit', '2', '--requester', 'office1'], { as: 'ctdalek' });
    expect(lines(table)[0]).toMatch(/^CREATED \(UTC\) +STATE +TYPE +SUBJECT +REQUESTER +ID$/);
    expect(lines(table)[3]).toMatch(/^more: ceo jobs list --cursor \d{13}:[0-9a-f-]{36} \(or --all\)$/);
    const job = await ceo(['jobs', 'get', mine.jobs[0].id], { as: 'office1' });
    expectExit(job, 0);
    expect(job.stdout).toMatch(/^ +STEP +WHERE +STATE +TRIES +TOOK/m);
    // regular1 may not list office1's jobs: 403, exit 3.
    const denied = await ceo(['jobs', 'list', '--requester', 'office1'], { as: 'regular1' });
    expectExit(denied, 3);
    expect(denied.stderr).toBe('ceo: regular1 may not list the jobs of office1 (FORBIDDEN)\n');
  }, 90_000);

  test('writes: modify, renew, pwreset, groups, mailman, positions, expire, deletes — with --json', async () => {
    const a = await addMember();
    const b = await addMember(['--forward', 'b@example.org']);

    // A member changes their own shell; --json prints the final job and nothing else.
    const mod = await ceo(['members', 'modify', 'regular1', '--login-shell', '/bin/bash', '--json'], { as: 'regular1' });
    expectExit(mod, 0);
    expect(json(mod)).toMatchObject({ type: 'modify_member', state: 'completed', requester: 'regular1' });
    expect(mod.stderr).toBe('');

    const renew = await ceo(['members', 'renew', a], { as: 'office1' });
    expectExit(renew, 0);
    expect(json(await ceo(['members', 'get', a, '--json'], { as: 'office1' })).terms).toEqual([termOf(new Date()), TERM]);

    const pw = await ceo(['members', 'pwreset', a], { as: 'office1' });
    expectExit(pw, 0);
    expect(lines(pw).filter((l) => l.startsWith(`initial password for ${a}: `))).toHaveLength(1);

    const club = newUid();
    const made = await ceo(['groups', 'add', club, '--description', 'CLI Club', '--json'], { as: 'ctdalek' });
    expectExit(made, 0);
    expect(json(made)).toMatchObject({ type: 'create_group', state: 'completed' });
    expectExit(await ceo(['groups', 'addmember', club, a, '--no-subscribe'], { as: 'ctdalek' }), 0);
    expect(json(await ceo(['groups', 'get', club, '--json'], { as: 'regular1' })).members.map((m: { uid: string }) => m.uid)).toEqual([a]);
    expectExit(await ceo(['groups', 'removemember', club, a], { as: 'ctdalek' }), 0);

    expectExit(await ceo(['mailman', 'subscribe', 'regular1', 'csc-general'], { as: 'regular1' }), 0);
    expect(await mailmanMembers(stack, 'csc-general')).toContain(`regular1@${stack.baseDomain}`);
    const unsub = await ceo(['mailman', 'unsubscribe', 'regular1', 'csc-general', '--json'], { as: 'regular1' });
    expect(json(unsub)).toMatchObject({ type: 'unsubscribe_list', state: 'completed' });
    expect(await mailmanMembers(stack, 'csc-general')).not.toContain(`regular1@${stack.baseDomain}`);

    expectExit(await ceo(['positions', 'set', `president=${a}`, `vice-president=${b}`, `sysadmin=${a},${b}`], { as: 'ctdalek' }), 0);
    const held = json(await ceo(['positions', 'get', '--json'], { as: 'regular1' })).positions;
    expect([held.president, held['vice-president'], [...held.sysadmin].sort()]).toEqual([[a], [b], [a, b].sort()]);

    const dry = json(await ceo(['members', 'expire', '--dry-run', '--json'], { as: 'ctdalek' }));
    expect(dry).toMatchObject({ dry_run: true, current_term: 'w2021', threshold: 'w2021' });
    const expire = await ceo(['members', 'expire', '--yes'], { as: 'ctdalek' });
    expectExit(expire, 0);
    expect(lines(expire)[0]).toMatch(/^job [0-9a-f-]{36} expire_members: /);

    expectExit(await ceo(['groups', 'delete', club, '--yes'], { as: 'ctdalek' }), 0);
    const del = await ceo(['members', 'delete', b, '--yes'], { as: 'ctdalek' });
    expectExit(del, 0);
    expect(await ldapUsers(stack, b)).toEqual([]);
    expect(await home(stack, b)).toBeNull();
  }, 180_000);

  test('404 and 409 exit 4 with the API\'s message; 403 exits 3; --no-wait returns the job id at once', async () => {
    const missing = await ceo(['members', 'get', 'nosuchuser'], { as: 'regular1' });
    expectExit(missing, 4);
    expect(missing.stderr).toBe('ceo: no member nosuchuser (NOT_FOUND)\n');

    const forbidden = await ceo(['members', 'pwreset', 'regular1'], { as: 'regular1' });
    expectExit(forbidden, 3);
    expect(forbidden.stderr).toBe('ceo: regular1 may not reset passwords (FORBIDDEN)\n');

    const uid = newUid();
    const queued = await ceo(['members', 'add', uid, '--cn', 'No Wait', '--program', 'MATH', '--terms', TERM, '--no-wait', '--json'], { as: 'office1' });
    expectExit(queued, 0);
    const { id } = json(queued);
    // While it runs, the same uid is a 409 naming the job; after, a 409 from the directory.
    const dup = await ceo(['members', 'add', uid, '--cn', 'No Wait', '--program', 'MATH', '--terms', TERM], { as: 'office1' });
    expectExit(dup, 4);
    expect(dup.stderr).toMatch(new RegExp(`^ceo: (a job for ${uid} is already queued or running: ${id} \\(CONFLICT\\); ceo jobs watch ${id}|${uid} is already taken by a user or group \\(CONFLICT\\))\\n$`));
    const watched = await ceo(['jobs', 'watch', id, '--json'], { as: 'office1' });
    expectExit(watched, 0);
    expect(json(watched)).toMatchObject({ id, state: 'completed' });
  }, 60_000);
});

describe('member databases', () => {
  /** Logs in to the stack's server as `uid` with `password`, with the client library; answers the database the session is in. */
  async function loginAs(kind: 'mysql' | 'postgresql', uid: string, password: string): Promise<string> {
    if (kind === 'mysql') {
      const c = await createConnection({ host: stack.mysql.host, port: stack.mysql.port, user: uid, password, database: uid, connectTimeout: 5000 });
      try {
        const [rows] = await c.query('SELECT DATABASE() AS db');
        return (rows as { db: string }[])[0]!.db;
      } finally {
        await c.end();
      }
    }
    const c = new PgClient({ host: stack.postgres.host, port: stack.postgres.port, user: uid, password, database: uid, connectionTimeoutMillis: 5000 });
    await c.connect();
    try {
      return (await c.query<{ db: string }>('SELECT current_database() AS db')).rows[0]!.db;
    } finally {
      await c.end();
    }
  }
  /** The password in the member's info file: the last word of its `Password` line, as members' scripts read it. */
  const infoPassword = (uid: string, kind: string) =>
    readFileSync(join(stack.homeRoot, uid, `ceo-${kind}-info`), 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Password'))!
      .split(/\s+/)
      .pop()!;
  const refused = { mysql: { code: 'ER_ACCESS_DENIED_ERROR' }, postgresql: { code: '28P01' } };

  test('ceo --help and ceo mysql|postgresql --help list the database commands', async () => {
    const top = await ceo(['--help'], { as: null });
    expectExit(top, 0);
    expect(top.stdout).toMatch(/^ +mysql +a member's \(or a club's\) own MySQL database$/m);
    expect(top.stdout).toMatch(/^ +postgresql +a member's \(or a club's\) own PostgreSQL database$/m);
    for (const kind of ['mysql', 'postgresql']) {
      const r = await ceo([kind, '--help'], { as: null });
      expectExit(r, 0);
      expect(r.stdout).toMatch(/^ +create \[options\] <uid> /m);
      expect(r.stdout).toMatch(/^ +pwreset \[options\] <uid> /m);
      expect(r.stdout).toContain(`~<uid>/ceo-${kind}-info`);
    }
  });

  test('a new member creates and resets their own databases: the password printed once is the info file’s and logs in; a second create exits 4', async () => {
    // A new member, who logs in (changing the initial password) and runs ceo as themself.
    const uid = newUid();
    const added = await ceo(['members', 'add', uid, '--cn', `Db ${uid}`, '--program', 'MATH', '--terms', TERM, '--json'], { as: 'office1' });
    expectExit(added, 0);
    await users.kinit(uid, json(added).result.password, `Db-${Math.random().toString(36).slice(2, 10)}-7q`);
    try {
      for (const [kind, tty] of [
        ['mysql', false],
        ['postgresql', true],
      ] as const) {
        const name = kind === 'mysql' ? 'MySQL' : 'PostgreSQL';
        const made = await ceo([kind, 'create', uid], { as: uid, tty });
        expectExit(made, 0);
        const out = tty ? made.screen : lines(made);
        if (tty) {
          expect(out[0]).toMatch(/^job [0-9a-f-]{36} create_database$/);
          expect(out.slice(1, 4)).toEqual([
            expect.stringMatching(new RegExp(`^✔ check that ${uid} has no ${name} database \\(db@coffee\\) `)),
            expect.stringMatching(new RegExp(`^✔ create ${name} database and user ${uid} \\(db@coffee\\) `)),
            expect.stringMatching(new RegExp(`^✔ write ~${uid}/ceo-${kind}-info \\(fs@phosphoric-acid\\) `)),
          ]);
        } else {
          expect(out[0]).toMatch(/^job [0-9a-f-]{36} create_database: 3 steps$/);
          expect(out[1]).toBe(`queued create_database (requested by ${uid})`);
          expect(out).toContain('step_started create_database (db@coffee)');
          expect(out).toContain('step_started write_database_info (fs@phosphoric-acid)');
          expect(made.stderr).toBe('');
        }
        expect(out.find((l) => /^job [0-9a-f-]{36} completed in /.test(l))).toBeDefined();
        const shown = out.map((l) => new RegExp(`^${name} password for ${uid}: (\\S+)  \\(also in ~${uid}/ceo-${kind}-info\\)$`).exec(l)?.[1]).filter(Boolean);
        expect(shown).toHaveLength(1);
        const password = shown[0]!;
        // Printed once, nowhere else in the output; the same as in the info file; and it logs in.
        expect(made.stdout.split(password)).toHaveLength(2);
        expect(infoPassword(uid, kind)).toBe(password);
        expect(await loginAs(kind, uid, password)).toBe(uid);

        const again = await ceo([kind, 'create', uid], { as: uid });
        expectExit(again, 4);
        expect(again.stderr).toMatch(new RegExp(`^ceo: ${uid} already has a ${name} database.*\\(DB_EXISTS\\)\\n$`));
        expect(again.stdout).toBe('');

        // pwreset with --json: the final job, its result the new password (the requester's to see).
        const reset = await ceo([kind, 'pwreset', uid, '--json'], { as: uid });
        expectExit(reset, 0);
        const job = json(reset);
        expect(job).toMatchObject({ type: 'reset_database_password', state: 'completed', requester: uid, payload: { uid, kind } });
        expect(job.result.password).toEqual(expect.any(String));
        expect(job.result.password).not.toBe(password);
        expect(infoPassword(uid, kind)).toBe(job.result.password);
        expect(await loginAs(kind, uid, job.result.password)).toBe(uid);
        await expect(loginAs(kind, uid, password)).rejects.toMatchObject(refused[kind]);
      }
    } finally {
      // delete_member drops both databases too.
      expectExit(await ceo(['members', 'delete', uid, '--yes'], { as: 'ctdalek' }), 0);
    }
  }, 180_000);

  test('another member may not create one for them: exit 3', async () => {
    const r = await ceo(['mysql', 'create', 'office1'], { as: 'regular1' });
    expectExit(r, 3);
    expect(r.stderr).toMatch(/^ceo: .*\(FORBIDDEN\)\n$/);
  });
});
