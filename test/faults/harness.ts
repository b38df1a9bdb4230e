/**
 * Fault suite harness: a client that streams create-member jobs the way a
 * patient client would (retrying 503s and dropped connections with the same
 * Idempotency-Key), and one consistency checker that looks at every system.
 *
 * Only a `202` counts as an accepted job; everything the checker asserts is
 * about accepted jobs and the directory as a whole.
 */
import { execFile } from 'node:child_process';
import { readdir, readFile, lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Redis } from 'ioredis';
import { call, type CeodCluster, type ProcName, Tickets, waitFor } from '../helpers/ceod';
import type { StackInfo } from '../helpers/stack';
import { ldapsearch, mailmanMembers } from '../helpers/verify';
import { NAME_RE } from '../../src/core/model/names';

const exec = promisify(execFile);

/** `full` for `npm run test:faults`, `reduced` inside `npm test`. */
export const SCALE = process.env.CEOD_FAULT_SCALE === 'full' ? 'full' : 'reduced';
export const full = SCALE === 'full';

export const TERM = 'f2099';
/** The one name rule (src/core/model/names.ts): generated hostile uids are those it refuses. */
export const UID_RE = NAME_RE;
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const rand = (lo: number, hi: number) => lo + Math.floor(Math.random() * (hi - lo + 1));

/** A tag for this run's uids, so the checker can tell them from earlier runs' on the shared stack. */
export const RUN_TAG = `f${Math.random().toString(36).slice(2, 6).replace(/[^a-z0-9]/g, 'x')}`;
let seq = 0;
/** A fresh uid of a scenario (one lowercase letter), e.g. `fab1k7`. */
export const nextUid = (scenario: string) => `${RUN_TAG}${scenario}${(seq++).toString(36)}`;

export const createBody = (uid: string) => ({
  uid,
  cn: `Fault ${uid}`,
  given_name: 'Fault',
  sn: uid,
  program: 'MATH',
  terms: [TERM],
  forwarding_addresses: [`${uid}@example.org`],
});

export interface Accepted {
  uid: string;
  id: string;
  scenario: string;
  acceptedAt: number;
}

export interface PostStats {
  posts: number;
  accepted: number;
  retried503: number;
  networkErrors: number;
  other: Record<number, number>;
  /** Any 5xx other than 503: a bug. */
  fiveHundreds: { status: number; body: unknown }[];
}

export const FINAL_STATES = new Set(['completed', 'failed', 'rolled_back']);
const FINAL = FINAL_STATES;

export const newStats = (): PostStats => ({ posts: 0, accepted: 0, retried503: 0, networkErrors: 0, other: {}, fiveHundreds: [] });

/**
 * POSTs one create, retrying 503s and connection errors with the same
 * Idempotency-Key for up to `budgetMs`. Returns the accepted job or null.
 */
export async function postCreate(cluster: CeodCluster, tickets: Tickets, uid: string, scenario: string, stats: PostStats, budgetMs = 60_000): Promise<Accepted | null> {
  const deadline = Date.now() + budgetMs;
  for (;;) {
    stats.posts += 1;
    let res;
    try {
      res = await call(cluster, tickets, 'ctdalek', 'POST', '/api/members', createBody(uid), { 'idempotency-key': `fault-${uid}` });
    } catch {
      stats.networkErrors += 1;
      if (Date.now() > deadline) return null;
      await sleep(300);
      continue;
    }
    if (res.status === 202) {
      stats.accepted += 1;
      return { uid, id: res.body.id, scenario, acceptedAt: Date.now() };
    }
    if (res.status === 503) {
      stats.retried503 += 1;
      if (Date.now() > deadline) return null;
      await sleep(300);
      continue;
    }
    if (res.status >= 500) stats.fiveHundreds.push({ status: res.status, body: res.body });
    stats.other[res.status] = (stats.other[res.status] ?? 0) + 1;
    return null;
  }
}

/**
 * A stream of creates with `concurrency` jobs in flight: each lane posts one,
 * waits until that job has ended (or `jobTimeoutMs`), then posts the next. So
 * faults always land on jobs in the middle of their steps, not on a backlog.
 */
export function createStream(cluster: CeodCluster, tickets: Tickets, redis: Redis, scenario: string, concurrency: number, jobTimeoutMs = 120_000) {
  const accepted: Accepted[] = [];
  const stats = newStats();
  let running = true;
  const lanes = Array.from({ length: concurrency }, async () => {
    while (running) {
      const a = await postCreate(cluster, tickets, nextUid(scenario), scenario, stats);
      if (!a) {
        await sleep(200);
        continue;
      }
      accepted.push(a);
      const deadline = Date.now() + jobTimeoutMs;
      while (Date.now() < deadline && !FINAL.has((await record(redis, cluster.prefix, a.id).catch(() => null))?.state)) await sleep(100);
    }
  });
  return {
    accepted,
    stats,
    async stop() {
      running = false;
      await Promise.all(lanes);
    },
  };
}

/** The job record as the workers keep it in Redis. */
export async function record(redis: Redis, prefix: string, id: string): Promise<any> {
  const raw = await redis.get(`${prefix}:job:${id}`);
  return raw ? JSON.parse(raw) : null;
}

/** Waits until every accepted job has ended (or the timeout), returns the records by id. */
export async function drain(redis: Redis, prefix: string, jobs: Accepted[], timeoutMs: number): Promise<Map<string, any>> {
  const records = new Map<string, any>();
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const j of jobs) {
      if (FINAL.has(records.get(j.id)?.state)) continue;
      records.set(j.id, await record(redis, prefix, j.id).catch(() => null));
    }
    const open = jobs.filter((j) => !FINAL.has(records.get(j.id)?.state));
    if (open.length === 0 || Date.now() > deadline) return records;
    await sleep(250);
  }
}

/** Restarts a worker and waits until *this* start logged "worker ready" (the log file is appended to). */
export async function restartWorker(cluster: CeodCluster, name: ProcName): Promise<number> {
  const t0 = Date.now();
  const before = cluster.logs(name).split('worker ready').length;
  await cluster.start(name);
  await waitFor(async () => cluster.logs(name).split('worker ready').length > before, 30_000, `worker ${name} to restart`, () => cluster.logs(name));
  return Date.now() - t0;
}

/** How long re-run steps took from first start to finish (the stall and its recovery included). */
export const rerunStepMs = (jobs: Accepted[], records: Map<string, any>) =>
  jobs.flatMap((j) =>
    (records.get(j.id)?.steps ?? [])
      .filter((s: any) => s.attempts > 1 && s.startedAt && s.finishedAt)
      .map((s: any) => Date.parse(s.finishedAt) - Date.parse(s.startedAt)),
  );

export const percentile = (xs: number[], p: number) => {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

/** Milliseconds from accepted to finished, per job. */
export const durations = (jobs: Accepted[], records: Map<string, any>) =>
  jobs.map((j) => {
    const r = records.get(j.id);
    return r?.finishedAt && r?.createdAt ? Date.parse(r.finishedAt) - Date.parse(r.createdAt) : NaN;
  }).filter((n) => !Number.isNaN(n));

export interface Consistency {
  problems: string[];
  completed: number;
  rolledBack: number;
  unfinished: number;
  failed: number;
}

async function listPrincipals(stack: StackInfo, pattern: string): Promise<string[]> {
  const { stdout } = await exec('kadmin', ['-k', '-t', stack.krb5.adminKeytab, '-p', stack.krb5.adminPrincipal, '-r', stack.realm, '-q', `listprincs ${pattern}`], {
    env: { ...process.env, KRB5_CONFIG: stack.krb5.config },
    maxBuffer: 64 * 1024 * 1024,
  });
  return stdout
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.endsWith(`@${stack.realm}`))
    .map((l) => l.slice(0, -(stack.realm.length + 1)));
}

/**
 * The one consistency check every scenario ends with. Over every system:
 * - Redis: every accepted job is `completed` or `rolled_back` (`allowRolledBack`),
 *   no job of this cluster is left in `<p>:active`, no resource lock is left,
 *   no step job waits or runs in any queue;
 * - nothing duplicated: uids, uid numbers (against uid and gid numbers of the whole
 *   directory), personal groups, one completed job per uid;
 * - nothing half-made: a completed job's uid has its LDAP entry (with the job's uid
 *   number), personal group with that gid, principal, home dir owned by it, `.forward`
 *   and new-member list subscription; a rolled-back one has none of these;
 * - nothing stray: every entry, group, principal, home dir and subscription carrying
 *   this run's tag belongs to a completed job.
 */
export async function checkConsistency(
  stack: StackInfo,
  redis: Redis,
  prefix: string,
  jobs: Accepted[],
  records: Map<string, any>,
  opts: { allowRolledBack: boolean; scenario: string },
): Promise<Consistency> {
  // Every uid of a scenario starts with the run tag and the scenario's letter (nextUid).
  const mine = `${RUN_TAG}${opts.scenario}`;
  const problems: string[] = [];
  const out: Consistency = { problems, completed: 0, rolledBack: 0, unfinished: 0, failed: 0 };
  const domain = stack.baseDomain;

  const users = await ldapsearch(stack, stack.ldap.usersBase, '(uid=*)');
  const groups = await ldapsearch(stack, stack.ldap.groupsBase, '(cn=*)');
  const principals = new Set(await listPrincipals(stack, `${mine}*`));
  const homes = new Set((await readdir(stack.homeRoot)).filter((n) => n.startsWith(mine)));
  const roster = (await mailmanMembers(stack, 'csc-general')).filter((e) => e.startsWith(mine));

  // Duplicates across the whole directory.
  const byUid = new Map<string, Record<string, string[]>[]>();
  for (const u of users) byUid.set(u.uid![0]!, [...(byUid.get(u.uid![0]!) ?? []), u]);
  for (const [uid, es] of byUid) if (es.length > 1) problems.push(`duplicate LDAP user ${uid} (${es.length})`);
  const numberOwners = new Map<number, string[]>();
  for (const u of users) {
    const n = Number(u.uidNumber?.[0]);
    numberOwners.set(n, [...(numberOwners.get(n) ?? []), `user ${u.uid![0]}`]);
  }
  for (const [n, owners] of numberOwners) if (owners.length > 1) problems.push(`duplicate uid number ${n}: ${owners.join(', ')}`);
  const groupByCn = new Map<string, Record<string, string[]>>();
  const gidOwners = new Map<number, string[]>();
  for (const g of groups) {
    const cn = g.cn![0]!;
    if (groupByCn.has(cn)) problems.push(`duplicate group ${cn}`);
    groupByCn.set(cn, g);
    const n = Number(g.gidNumber?.[0]);
    gidOwners.set(n, [...(gidOwners.get(n) ?? []), cn]);
  }
  for (const [n, owners] of gidOwners) if (owners.length > 1) problems.push(`duplicate gid number ${n}: ${owners.join(', ')}`);
  // A user's number may equal only its own personal group's gid.
  for (const u of users) {
    const n = Number(u.uidNumber?.[0]);
    for (const cn of gidOwners.get(n) ?? []) if (cn !== u.uid![0]) problems.push(`uid number ${n} of ${u.uid![0]} is also the gid of group ${cn}`);
  }
  const rosterCount = new Map<string, number>();
  for (const e of roster) rosterCount.set(e, (rosterCount.get(e) ?? 0) + 1);
  for (const [e, c] of rosterCount) if (c > 1) problems.push(`duplicate subscription ${e}`);

  // Per accepted job.
  const completedUids = new Set<string>();
  for (const j of jobs) {
    const r = records.get(j.id);
    const state = r?.state ?? 'missing';
    const uid = j.uid;
    const addr = `${uid}@${domain}`;
    const user = byUid.get(uid)?.[0];
    const group = groupByCn.get(uid);
    if (state === 'completed') {
      out.completed += 1;
      if (completedUids.has(uid)) problems.push(`two completed jobs for ${uid}`);
      completedUids.add(uid);
      const n = Number(user?.uidNumber?.[0]);
      const recorded = r.steps?.[0]?.result?.uidNumber;
      if (!user) problems.push(`${uid}: completed, but no LDAP user`);
      else if (recorded !== n) problems.push(`${uid}: job recorded uid number ${recorded}, LDAP has ${n}`);
      if (!group) problems.push(`${uid}: completed, but no personal group`);
      else if (Number(group.gidNumber?.[0]) !== n) problems.push(`${uid}: personal group gid ${group.gidNumber?.[0]} != uid number ${n}`);
      if (!principals.has(uid)) problems.push(`${uid}: completed, but no principal`);
      if (!homes.has(uid)) problems.push(`${uid}: completed, but no home dir`);
      else {
        const st = await lstat(join(stack.homeRoot, uid));
        if (st.uid !== n || st.gid !== n || !st.isDirectory()) problems.push(`${uid}: home dir owned by ${st.uid}:${st.gid}, want ${n}`);
        const fwd = await readFile(join(stack.homeRoot, uid, '.forward'), 'utf8').catch(() => null);
        if (fwd?.trim() !== `${uid}@example.org`) problems.push(`${uid}: .forward is ${JSON.stringify(fwd)}`);
      }
      if (!rosterCount.has(addr)) problems.push(`${uid}: completed, but not subscribed`);
    } else if (state === 'rolled_back') {
      out.rolledBack += 1;
      if (!opts.allowRolledBack) problems.push(`${uid}: rolled back (${r.error?.code}: ${r.error?.message})`);
      if (user) problems.push(`${uid}: rolled back, but the LDAP user is there`);
      if (group) problems.push(`${uid}: rolled back, but the personal group is there`);
      if (principals.has(uid)) problems.push(`${uid}: rolled back, but the principal is there`);
      if (homes.has(uid)) problems.push(`${uid}: rolled back, but the home dir is there`);
      if (rosterCount.has(addr)) problems.push(`${uid}: rolled back, but still subscribed`);
    } else if (state === 'failed') {
      out.failed += 1;
      problems.push(`${uid}: job ${j.id} failed (${JSON.stringify(r.error)}, undo errors ${JSON.stringify(r.undoErrors)})`);
    } else {
      out.unfinished += 1;
      problems.push(`${uid}: job ${j.id} is ${state}${r ? ` at ${r.phase} ${r.cursor} (${r.steps?.[r.cursor]?.name}: ${r.steps?.[r.cursor]?.state})` : ''}`);
    }
  }

  // Nothing stray with this run's tag (a uid is only ours if a completed job made it).
  const strays: [string, Iterable<string>][] = [
    ['LDAP user', [...byUid.keys()].filter((u) => u.startsWith(mine))],
    ['group', [...groupByCn.keys()].filter((g) => g.startsWith(mine))],
    ['principal', principals],
    ['home dir', homes],
    ['subscription', [...rosterCount.keys()].map((e) => e.split('@')[0]!)],
  ];
  for (const [what, names] of strays) for (const n of names) if (!completedUids.has(n)) problems.push(`stray ${what} ${n}: no completed job made it`);

  // Redis: nothing left running or holding a lock.
  const active = await redis.zrange(`${prefix}:active`, 0, -1);
  const ours = new Set(jobs.map((j) => j.id));
  for (const id of active) if (ours.has(id)) problems.push(`job ${id} still in ${prefix}:active`);
  for (const j of jobs) {
    const holder = await redis.get(`${prefix}:lock:member:${j.uid}`);
    if (holder) problems.push(`lock member:${j.uid} still held by ${holder}`);
  }
  for (const role of ['admin', 'fs', 'mail']) {
    const waiting = await redis.llen(`${prefix}:ceod-${role}:wait`);
    const activeSteps = await redis.llen(`${prefix}:ceod-${role}:active`);
    if (waiting + activeSteps > 0) problems.push(`queue ceod-${role}: ${waiting} waiting, ${activeSteps} active step jobs left`);
  }
  return out;
}

/** Every value of every key in every Redis database, as text, key by key. */
export async function* redisDump(redis: Redis): AsyncGenerator<[string, string]> {
  const info = await redis.info('keyspace');
  const dbs = [...info.matchAll(/^db(\d+):/gm)].map((m) => Number(m[1]));
  for (const db of dbs) {
    await redis.select(db);
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'COUNT', 1000);
      cursor = next;
      for (const key of keys) {
        const type = await redis.type(key);
        let text = '';
        if (type === 'string') text = (await redis.getBuffer(key))?.toString('latin1') ?? '';
        else if (type === 'hash') text = JSON.stringify(await redis.hgetall(key));
        else if (type === 'list') text = JSON.stringify(await redis.lrange(key, 0, -1));
        else if (type === 'set') text = JSON.stringify(await redis.smembers(key));
        else if (type === 'zset') text = JSON.stringify(await redis.zrange(key, 0, -1, 'WITHSCORES'));
        else if (type === 'stream') text = JSON.stringify(await redis.xrange(key, '-', '+'));
        yield [`db${db}:${key}`, `${key}\n${text}`];
      }
    } while (cursor !== '0');
  }
  await redis.select(0);
}

/** Every regular file under `dir`, recursively. */
export async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await filesUnder(p)));
    else if (e.isFile()) out.push(p);
  }
  return out;
}
