/**
 * Positions end to end: `GET /api/positions` and `POST /api/positions` through
 * the API and the role workers as processes, checked in slapd (ldapsearch) and
 * Mailman afterwards. Every replace here is of the whole map, so whatever
 * positions earlier runs (or other e2e files) left in the shared stack are
 * replaced too, and the checks hold whatever the stack held before.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import IORedis, { type Redis } from 'ioredis';
import { parse, stringify } from 'ini';
import { loadConfig } from '../../src/config/load';
import { lowestFreeId } from '../../src/jobs/uid-numbers';
import { ldapOptions } from '../../src/compose';
import { createLdap } from '../../src/ldap';
import type { Ldap } from '../../src/core/ports';
import { call, type CeodCluster, jobCount as countJobs, startCeod, Tickets, waitFor, waitForJob, seedTickets } from '../helpers/ceod';
import { redisAuth, testStack } from '../helpers/stack';
import { ldapGroups, ldapsearch, mailmanMembers } from '../helpers/verify';

const stack = testStack();
const newUid = () => `p${Math.random().toString(36).slice(2, 8).replace(/[^a-z0-9]/g, 'x')}`;
const person = (uid: string) => ({ uid, cn: `Pos ${uid}`, given_name: 'Pos', sn: uid, program: 'MATH', terms: ['f2099'] });
const address = (uid: string) => `${uid}@${stack.baseDomain}`;

let cluster: CeodCluster;
let tickets: Tickets;
let redis: Redis;
let ldap: Ldap;
/** Members made for this file. */
let a: string, b: string, c: string, d: string, e: string;
/** A club account: a People entry without the `member` class. */
let club: string;

beforeAll(async () => {
  tickets = await seedTickets(stack);
  cluster = await startCeod(stack, { name: 'positions' });
  redis = new IORedis(stack.redis.url, redisAuth(stack));
  ldap = createLdap(ldapOptions(loadConfig(stack.configs.admin)));
  [a, b, c, d, e, club] = Array.from({ length: 6 }, newUid) as [string, string, string, string, string, string];
  const created = await Promise.all([a, b, c, d, e].map((uid) => call(cluster, tickets, 'ctdalek', 'POST', '/api/members', person(uid))));
  for (const res of created) {
    expect(res.status).toBe(202);
    expect((await waitForJob(cluster, tickets, 'ctdalek', res.body.id)).state).toBe('completed');
  }
  const n = lowestFreeId(await ldap.usedIds(30001, 39999), 30001, 39999);
  await ldap.addUser({ uid: club, cn: `Club ${club}`, uidNumber: n, gidNumber: n, homeDirectory: `/users/${club}`, loginShell: '/bin/bash', kind: 'club' });
}, 120_000);

afterAll(async () => {
  await ldap?.deleteUser(club).catch(() => undefined);
  await ldap?.close();
  await cluster?.stop();
  redis?.disconnect();
});

const jobCount = () => countJobs(redis, cluster);

/** Who holds what, read from slapd with ldapsearch: uid → sorted positions. */
async function held(): Promise<Record<string, string[]>> {
  const entries = await ldapsearch(stack, stack.ldap.usersBase, '(position=*)');
  return Object.fromEntries(entries.map((x) => [x.uid![0]!, [...x.position!].sort()]));
}

/** The exec group's members (uids), read from slapd. */
async function execGroup(): Promise<string[]> {
  const [group] = await ldapGroups(stack, 'exec');
  return (group!.uniqueMember ?? []).map((dn) => /^uid=([^,]+),/.exec(dn)![1]!).sort();
}

/** Replaces all positions as ctdalek; expects 202 and a completed job. */
async function setPositions(body: unknown) {
  const res = await call(cluster, tickets, 'ctdalek', 'POST', '/api/positions', body);
  expect(res.status).toBe(202);
  const job = await waitForJob(cluster, tickets, 'ctdalek', res.body.id);
  if (job.state !== 'completed') throw new Error(JSON.stringify(job, null, 1));
  return job;
}

describe('refused requests', () => {
  const valid = () => ({ president: a, 'vice-president': b, sysadmin: c });

  test.each([
    ['an unknown position', () => ({ ...valid(), emperor: a }), 'emperor', /not a position/],
    ['a missing required position', () => ({ president: a, sysadmin: c }), 'vice-president', /required/],
    ['an empty required position', () => ({ ...valid(), sysadmin: [] }), 'sysadmin', /required/],
    ['a holder that is not a uid', () => ({ ...valid(), president: 'Not A Uid' }), 'president', /lowercase/],
    ['a bad uid in a list', () => ({ ...valid(), 'vice-president': [b, '../etc'] }), 'vice-president.1', /lowercase/],
    ['a holder listed twice', () => ({ ...valid(), 'vice-president': [b, b] }), 'vice-president.1', /twice/],
    ['a holder who does not exist', () => ({ ...valid(), treasurer: 'nosuchuser9' }), 'treasurer', /no member nosuchuser9/],
    ['a holder who is not a member (a club account)', () => ({ ...valid(), sysadmin: club }), 'sysadmin', /is not a member/],
    ['a body that is not an object', () => [a], 'body', /JSON object/],
  ])('%s: 400 naming the field, nothing enqueued, nothing changed', async (_what, body, field, message) => {
    const before = { jobs: await jobCount(), held: await held() };
    const res = await call(cluster, tickets, 'ctdalek', 'POST', '/api/positions', body());
    expect([res.status, res.body.error.field]).toEqual([400, field]);
    expect(res.body.error.message).toMatch(message);
    expect(await jobCount()).toBe(before.jobs);
    expect(await held()).toEqual(before.held);
  });

  test('office1 and regular1 may not set positions: 403, nothing enqueued', async () => {
    const before = await jobCount();
    for (const as of ['office1', 'regular1']) {
      const res = await call(cluster, tickets, as, 'POST', '/api/positions', valid());
      expect([as, res.status, res.body.error.code]).toEqual([as, 403, 'FORBIDDEN']);
    }
    expect(await jobCount()).toBe(before);
  });
});

describe('replacing positions', () => {
  test('twice in a row leaves exactly the second set in LDAP and in exec; new execs are subscribed, nobody unsubscribed', async () => {
    const first = await setPositions({ president: a, 'vice-president': [c, b], sysadmin: d, treasurer: a });
    expect(first.steps.map((s: any) => [s.name, s.role, s.state])).toEqual([
      ['read_positions', 'admin', 'completed'],
      ['write_positions', 'admin', 'completed'],
      ['sync_exec_group', 'admin', 'completed'],
      ['subscribe_new_execs', 'mail', 'completed'],
    ]);
    expect(await held()).toEqual({ [a]: ['president', 'treasurer'], [b]: ['vice-president'], [c]: ['vice-president'], [d]: ['sysadmin'] });
    expect(await execGroup()).toEqual([a, b, c].sort());
    expect(first.result.subscribed_to_exec_list).toEqual([a, b, c].sort());
    expect(await mailmanMembers(stack, 'exec')).toEqual(expect.arrayContaining([a, b, c].map(address)));

    const second = await setPositions({ president: b, 'vice-president': [d], sysadmin: a, secretary: e });
    expect(await held()).toEqual({ [b]: ['president'], [d]: ['vice-president'], [a]: ['sysadmin'], [e]: ['secretary'] });
    expect(await execGroup()).toEqual([b, d, e].sort());
    // Only those not in exec before are new; a and c left exec but stay on the list.
    expect(second.result.subscribed_to_exec_list).toEqual([d, e].sort());
    expect(second.result.holders_before).toEqual({ president: [a], 'vice-president': [b, c].sort(), sysadmin: [d], treasurer: [a] });
    expect(await mailmanMembers(stack, 'exec')).toEqual(expect.arrayContaining([a, b, c, d, e].map(address)));

    // The same map again is no error and changes nothing.
    const again = await setPositions({ president: b, 'vice-president': d, sysadmin: a, secretary: [e] });
    expect(again.result.changed_positions).toEqual({});
    expect(again.result.subscribed_to_exec_list).toEqual([]);
  }, 120_000);

  test('GET /api/positions shows every available position and its holders, to any member', async () => {
    const res = await call(cluster, tickets, 'regular1', 'GET', '/api/positions');
    expect(res.status).toBe(200);
    const available = loadConfig(stack.configs.api).positions!.available;
    expect(Object.keys(res.body.positions).slice(0, available.length)).toEqual(available);
    expect(res.body.positions).toMatchObject({ president: [b], 'vice-president': [d], sysadmin: [a], secretary: [e], treasurer: [], webmaster: [] });
  });

  test('a second request while one runs is a 409; a failing last step rolls back the positions and the exec group', async () => {
    const before = { held: await held(), exec: await execGroup() };
    // The mail worker is down, so the job waits at its last step.
    await cluster.kill('mail');
    const ini = parse(readFileSync(cluster.configs.mail, 'utf8'));
    const original = stringify(ini);
    try {
      const res = await call(cluster, tickets, 'ctdalek', 'POST', '/api/positions', { president: c, 'vice-president': d, sysadmin: a });
      expect(res.status).toBe(202);
      let job: any;
      await waitFor(async () => {
        job = (await call(cluster, tickets, 'ctdalek', 'GET', `/api/jobs/${res.body.id}`)).body;
        return job.steps[2].state === 'completed';
      }, 60_000, 'sync_exec_group to complete');
      expect(await held()).toEqual({ [c]: ['president'], [d]: ['vice-president'], [a]: ['sysadmin'] });
      expect(await execGroup()).toEqual([c, d].sort());

      const jobs = await jobCount();
      const conflict = await call(cluster, tickets, 'ctdalek', 'POST', '/api/positions', { president: a, 'vice-president': b, sysadmin: c });
      expect([conflict.status, conflict.body.error.code, conflict.body.error.job_id]).toEqual([409, 'CONFLICT', res.body.id]);
      expect(await jobCount()).toBe(jobs);

      // The mail host comes back pointed at a list that does not exist: the subscribe step fails for good.
      ini.positions.exec_list = 'no-such-exec-list';
      writeFileSync(cluster.configs.mail, stringify(ini));
      await cluster.start('mail');
      job = await waitForJob(cluster, tickets, 'ctdalek', res.body.id);
      expect(job.state).toBe('rolled_back');
      expect(job.error).toMatchObject({ code: 'MAILMAN_NO_SUCH_LIST', step: 'subscribe_new_execs', message: 'no mailing list no-such-exec-list (positions.exec_list)' });
      expect(job.undone).toEqual(['sync_exec_group', 'write_positions']);
      expect(await held()).toEqual(before.held);
      expect(await execGroup()).toEqual(before.exec);
    } finally {
      await cluster.kill('mail');
      writeFileSync(cluster.configs.mail, original);
      await cluster.start('mail');
    }
  }, 120_000);
});
