/**
 * Bulk expiry end to end, with the API's clock fixed by CEOD_TEST_NOW at
 * 2020-06-15 (s2020, past its grace period), so nothing depends on today's
 * date: members seeded with older terms expire, the seed users (who hold
 * today's term) and every other test's members (f2099, w2100) do not.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Client } from 'ldapts';
import { userAttributes } from '../../src/ldap/entries';
import { call, type CeodCluster, startCeod, Tickets, waitForJob, seedTickets } from '../helpers/ceod';
import { testStack } from '../helpers/stack';
import { ldapsearch, ldapUsers } from '../helpers/verify';

const stack = testStack();
const NOW = '2020-06-15T12:00:00Z';
const EXPIRED_SHELL = '/usr/local/bin/expired-account';
const run = Math.random().toString(36).slice(2, 7).replace(/[^a-z0-9]/g, 'x');
const idBase = 1_000_000 + Math.floor(Math.random() * 900) * 1000;
const N = 210;

type Seed = { uid: string; terms?: string[]; nonMemberTerms?: string[]; shell: string; expect: 'expired' | 'renewed' | 'kept' | 'already' };
const seeds: Seed[] = [];
for (let i = 0; i < N; i++) {
  seeds.push({ uid: `x${run}${i}`, terms: i % 2 ? ['f2019', 'w2019'] : ['w2020'], shell: i % 3 ? '/bin/bash' : '/bin/zsh', expect: 'expired' });
}
seeds.push({ uid: `x${run}rep`, nonMemberTerms: ['w2020'], shell: '/bin/bash', expect: 'expired' });
seeds.push({ uid: `x${run}cur`, terms: ['w2020', 's2020'], shell: '/bin/bash', expect: 'kept' });
seeds.push({ uid: `x${run}ahead`, terms: ['f2020'], shell: '/bin/bash', expect: 'kept' });
seeds.push({ uid: `x${run}old`, terms: ['w2019'], shell: EXPIRED_SHELL, expect: 'already' });
// Listed by the dry run, renewed before the bulk job is submitted: must not be expired.
// (The job's own re-check of a member renewed after submission is in test/unit/expire-members-job.test.ts.)
seeds.push({ uid: `x${run}late`, terms: ['w2020'], shell: '/bin/bash', expect: 'renewed' });

let cluster: CeodCluster;
let tickets: Tickets;
let ldap: Client;

beforeAll(async () => {
  tickets = await seedTickets(stack);
  ldap = new Client({ url: stack.ldap.url, timeout: 10_000 });
  await ldap.bind(stack.ldap.adminDn, stack.ldap.adminPassword);
  await Promise.all(
    seeds.map((s, i) =>
      ldap.add(
        `uid=${s.uid},${stack.ldap.usersBase}`,
        userAttributes({ uid: s.uid, cn: `Expiry ${s.uid}`, uidNumber: idBase + i, gidNumber: idBase + i, homeDirectory: `${stack.homeRoot}/${s.uid}`, loginShell: s.shell, terms: s.terms, nonMemberTerms: s.nonMemberTerms, kind: 'member' }),
      ),
    ),
  );
  cluster = await startCeod(stack, { name: 'expire', env: { CEOD_TEST_NOW: NOW } });
}, 120_000);

afterAll(async () => {
  await cluster?.stop();
  if (ldap) {
    for (const s of seeds) await ldap.del(`uid=${s.uid},${stack.ldap.usersBase}`).catch(() => undefined);
    await ldap.unbind();
  }
});

const mine = (uids: string[]) => uids.filter((u) => u.startsWith(`x${run}`)).sort();

test('only syscom may expire; a dry run lists who would expire and changes nothing', async () => {
  for (const who of ['regular1', 'office1']) expect((await call(cluster, tickets, who, 'POST', '/api/members/expire', { dry_run: true })).status).toBe(403);
  expect((await call(cluster, tickets, 'ctdalek', 'POST', '/api/members/expire', { dry_run: 'yes' })).body.error.field).toBe('dry_run');
  const res = await call(cluster, tickets, 'ctdalek', 'POST', '/api/members/expire', { dry_run: true });
  expect(res.status).toBe(200);
  expect(res.body.uids).toEqual([...res.body.uids].sort());
  expect(res.body).toMatchObject({ dry_run: true, as_of: '2020-06-15T12:00:00.000Z', current_term: 's2020', threshold: 's2020' });
  expect(mine(res.body.uids)).toEqual(seeds.filter((s) => s.expect === 'expired' || s.expect === 'renewed').map((s) => s.uid).sort());
  for (const seed of ['ctdalek', 'office1', 'regular1']) expect(res.body.uids).not.toContain(seed);
  const [one] = await ldapUsers(stack, seeds[0]!.uid);
  expect(one!.loginShell).toEqual([seeds[0]!.shell]);
});

test(`one bulk job expires ${N + 1} members, checked member by member; renewal restores the shell`, async () => {
  const late = seeds.find((s) => s.expect === 'renewed')!;
  const renew = await call(cluster, tickets, 'office1', 'POST', `/api/members/${late.uid}/renew`, { terms: ['s2020'] });
  expect(renew.status).toBe(202);
  expect((await waitForJob(cluster, tickets, 'office1', renew.body.id)).state).toBe('completed');

  const res = await call(cluster, tickets, 'ctdalek', 'POST', '/api/members/expire', {});
  expect(res.status).toBe(202);
  const job = await waitForJob(cluster, tickets, 'ctdalek', res.body.id, 120_000);
  expect(job.state).toBe('completed');
  const ms = Date.parse(job.finished_at) - Date.parse(job.started_at);
  console.log(`expire job: ${job.payload.uids.length} members in ${ms} ms (${job.steps.map((s: any) => `${s.name} ${s.duration_ms} ms`).join(', ')})`);

  const outcomes = job.result.outcomes as Record<string, string>;
  const mails = new Set<string>();
  for (const f of await readdir(stack.smtp.mailDir)) {
    const text = await readFile(join(stack.smtp.mailDir, f), 'utf8');
    if (text.includes('membership has expired')) for (const m of text.matchAll(/^To: (\S+)@/gm)) mails.add(m[1]!);
  }
  // One ldapsearch for all of them, then each member checked on its own entry.
  const entries = new Map((await ldapsearch(stack, stack.ldap.usersBase, `(uid=x${run}*)`)).map((e) => [e.uid![0]!, e]));
  expect(entries.size).toBe(seeds.length);
  for (const s of seeds) {
    const entry = entries.get(s.uid);
    if (s.expect === 'expired') {
      expect([s.uid, outcomes[s.uid], entry!.loginShell, entry!.previousLoginShell, job.result.mailed[s.uid], mails.has(s.uid)]).toEqual([
        s.uid, 'expired', [EXPIRED_SHELL], [s.shell], 'sent', true,
      ]);
    } else if (s.expect === 'already') {
      expect([s.uid, outcomes[s.uid], entry!.loginShell, entry!.previousLoginShell, mails.has(s.uid)]).toEqual([s.uid, undefined, [EXPIRED_SHELL], undefined, false]);
    } else {
      // kept: never selected; renewed: holds s2020 by the time the job is submitted.
      expect([s.uid, entry!.loginShell, entry!.previousLoginShell, mails.has(s.uid)]).toEqual([s.uid, [s.shell], undefined, false]);
    }
  }
  // (the job may also expire leftovers of an interrupted earlier run: count ours)
  expect(mine(Object.keys(outcomes).filter((u) => outcomes[u] === 'expired'))).toHaveLength(N + 1);
  for (const seed of ['ctdalek', 'office1', 'regular1']) expect(outcomes[seed]).toBeUndefined();

  // Renewing an expired account restores the shell it had (zsh here), and forgets the saved one.
  const zsh = seeds.find((s) => s.expect === 'expired' && s.shell === '/bin/zsh')!;
  const renewed = await call(cluster, tickets, 'office1', 'POST', `/api/members/${zsh.uid}/renew`, { terms: ['f2020'] });
  const rjob = await waitForJob(cluster, tickets, 'office1', renewed.body.id);
  expect(rjob.state).toBe('completed');
  expect(rjob.result).toMatchObject({ shell_restored: true, login_shell: '/bin/zsh' });
  const [back] = await ldapUsers(stack, zsh.uid);
  expect([back!.loginShell, back!.previousLoginShell, back!.term]).toEqual([['/bin/zsh'], undefined, ['w2020', 'f2020']]);

  // A second run finds nothing of ours left to expire.
  const again = await call(cluster, tickets, 'ctdalek', 'POST', '/api/members/expire', { dry_run: true });
  expect(mine(again.body.uids)).toEqual([]);
}, 180_000);

test('one bulk renewal job renews the expired members: terms added, shells restored, an outcome each', async () => {
  const expired = seeds.filter((s) => s.expect === 'expired');
  const uids = expired.map((s) => s.uid);
  const renew = (who: string, body: unknown) => call(cluster, tickets, who, 'POST', '/api/members/renew', body);
  for (const who of ['regular1', 'office1']) expect((await renew(who, { uids, terms: ['s2020'], dry_run: true })).status).toBe(403);
  expect((await renew('ctdalek', { uids, terms: ['w2019'] })).body.error.field).toBe('terms');
  expect((await renew('ctdalek', { terms: ['s2020'] })).body.error.field).toBe('uids');
  expect((await renew('ctdalek', { uids, all_expired: true, terms: ['s2020'] })).body.error.field).toBe('uids');
  const unknown = await renew('ctdalek', { uids: [...uids, `x${run}nosuch`], terms: ['s2020'] });
  expect([unknown.status, unknown.body.error.field]).toEqual([404, 'uids']);

  // Who is lapsed or expired now: the expired seeds but the one renewed singly (f2020), and the one expired long ago.
  const dry = await renew('ctdalek', { all_expired: true, terms: ['s2020'], dry_run: true });
  expect(dry.status).toBe(200);
  const zsh = expired.find((s) => s.shell === '/bin/zsh')!;
  const old = seeds.find((s) => s.expect === 'already')!;
  expect(mine(dry.body.uids)).toEqual([...uids.filter((u) => u !== zsh.uid), old.uid].sort());
  expect(dry.body).toMatchObject({ dry_run: true, terms: ['s2020'] });

  const res = await renew('ctdalek', { uids, terms: ['s2020'] });
  expect(res.status).toBe(202);
  const job = await waitForJob(cluster, tickets, 'ctdalek', res.body.id, 120_000);
  expect(job.state).toBe('completed');
  expect(job.type).toBe('renew_members');
  const ms = Date.parse(job.finished_at) - Date.parse(job.started_at);
  console.log(`renew_members job: ${uids.length} members in ${ms} ms`);
  expect(job.result).toMatchObject({ renewed_count: uids.length, unchanged_count: 0, gone_count: 0, failed_count: 0 });
  const entries = new Map((await ldapsearch(stack, stack.ldap.usersBase, `(uid=x${run}*)`)).map((e) => [e.uid![0]!, e]));
  for (const s of expired) {
    const e = entries.get(s.uid)!;
    expect([s.uid, job.result.outcomes[s.uid], e.loginShell, e.previousLoginShell, e.term?.includes('s2020')]).toEqual([s.uid, 'renewed', [s.shell], undefined, true]);
    // The one renewed singly was not on the expired shell any more.
    expect(job.result.shells_restored[s.uid]).toBe(s.uid === zsh.uid ? undefined : s.shell);
  }
  // Done twice, nothing changes.
  const again = await renew('ctdalek', { uids, terms: ['s2020'] });
  const job2 = await waitForJob(cluster, tickets, 'ctdalek', again.body.id, 120_000);
  expect(job2.result).toMatchObject({ renewed_count: 0, unchanged_count: uids.length });
}, 180_000);
