/**
 * Redis behind Sentinel losing its master (issue 14), while creates stream
 * through both API hosts. Redis: a master and a replica (AOF on,
 * `min-replicas-to-write 1`), three Sentinels (quorum 2, down after 2 s), and
 * the API WAITs for the replica before every 202 (`[redis] wait_replicas = 1`).
 *
 * 1. SIGKILL the master. The Sentinels promote the replica; every ceod process
 *    (two APIs, three workers) reconnects by itself, none restarted. The new
 *    master takes no write until a replica is back (`min-replicas-to-write`):
 *    the old master is started again as its replica after 5 s.
 * 2. (CEOD_FAULT_SCALE=full) `SENTINEL FAILOVER`: the master role goes back.
 *
 * Meanwhile the APIs answer 503, never 500; every job that got a 202
 * completes, none twice, none rolls back. Per process: how long until its
 * connections are on the new master, and until it next did its work there.
 */
import type { Redis } from 'ioredis';
import { startHostsCeod, type HostsCluster } from '../../tools/hosts/cluster';
import { CEOD_PROCS, type CeodProc, fqdn } from '../../tools/hosts/topology';
import { checkConsistency, drain, durations, full, nextUid, percentile, RUN_TAG, sleep } from '../faults/harness';
import { report } from './report';
import { HostTickets, hostsStack, outsideRedis, redisServiceAt, relayClient, sentinelMaster, signalService, startServiceOnHosts, waitGone, type HostsStack } from './stack';
import { type HostAccepted, type HostPostStats, hostStream, jobsPerUid, newHostStats, postCreateOnHosts } from './stream';

const stack = hostsStack();
let cluster: HostsCluster;
let tickets: HostTickets;
let redis: Redis;
/** Every process must be back on the new master within this of its promotion. */
const RECONNECT_BOUND_MS = 30_000;

beforeAll(async () => {
  tickets = new HostTickets(stack);
  await tickets.kinit('ctdalek');
  cluster = await startHostsCeod(stack.inside, stack.state, {
    name: 'sentinel',
    edits: { all: { ceod: { step_backoff_ms: 500, step_backoff_max_ms: 8000, step_attempts: 10, worker_concurrency: 8, watchdog_interval_ms: 1000, watchdog_stuck_ms: 15_000 } } },
  });
  redis = outsideRedis(stack);
}, 120_000);

afterAll(async () => {
  await cluster?.stop();
  redis?.disconnect();
});

type RedisService = 'redis' | 'redis-replica';
const other = (s: RedisService): RedisService => (s === 'redis' ? 'redis-replica' : 'redis');

/** Which of ceod's processes a connection of `CLIENT LIST` belongs to (by its host's address and its name). */
function ownerOf(s: HostsStack, line: string): CeodProc | null {
  const addr = /addr=([\d.]+):/.exec(line)?.[1];
  const name = / name=(\S*) /.exec(line)?.[1] ?? '';
  const host = (['phosphoric-acid', 'mail', 'coffee'] as const).find((h) => s.state.addresses[h] === addr);
  if (!host) return null;
  if (/^ceod-(producer|subscriber)$/.test(name)) return host === 'mail' ? null : (`${host}/api` as CeodProc);
  if (name === 'ceod-worker') return `${host}/worker` as CeodProc;
  return null;
}

/** Polls the new master's clients until every process has a connection there; resolves each one's time (ms since epoch). */
async function watchReconnects(service: RedisService, deadlineMs: number): Promise<Partial<Record<CeodProc, number>>> {
  const seen: Partial<Record<CeodProc, number>> = {};
  const end = Date.now() + deadlineMs;
  while (Date.now() < end && CEOD_PROCS.some((p) => seen[p] === undefined)) {
    const c = relayClient(stack, service);
    try {
      await c.connect();
      const list = String(await c.client('LIST'));
      const now = Date.now();
      for (const line of list.split('\n')) {
        const p = ownerOf(stack, line);
        if (p && seen[p] === undefined) seen[p] = now;
      }
    } catch {
      // not up yet
    } finally {
      c.disconnect();
    }
    await sleep(100);
  }
  return seen;
}

async function waitMasterIs(service: RedisService, timeoutMs: number): Promise<number> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const m = await sentinelMaster(stack);
    if (m && redisServiceAt(stack, m) === service) return Date.now();
    if (Date.now() > end) throw new Error(`the Sentinels did not make ${service} master within ${timeoutMs} ms (they say ${JSON.stringify(m)})`);
    await sleep(100);
  }
}

/** Resolves once `service` (a master) has a replica online: from then on it takes writes again. */
async function waitReplicated(service: RedisService, timeoutMs: number): Promise<number> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const c = relayClient(stack, service);
    try {
      await c.connect();
      const info = await c.info('replication');
      if (/^role:master/m.test(info) && /^slave0:.*state=online/m.test(info)) return Date.now();
    } catch {
      // keep asking
    } finally {
      c.disconnect();
    }
    if (Date.now() > end) throw new Error(`${service} has no online replica within ${timeoutMs} ms`);
    await sleep(100);
  }
}

/** When each process next did its work after `since`: an API its next 202, a worker the end of its next step. */
function firstWork(jobs: HostAccepted[], records: Map<string, any>, since: number): Partial<Record<CeodProc, number>> {
  const out: Partial<Record<CeodProc, number>> = {};
  const first = (p: CeodProc, at: number) => {
    if (at > since && (out[p] === undefined || at < out[p]!)) out[p] = at;
  };
  for (const j of jobs) {
    first(`${j.api}/api`, j.acceptedAt);
    for (const s of records.get(j.id)?.steps ?? []) {
      const host = (['phosphoric-acid', 'mail', 'coffee'] as const).find((h) => s.host === fqdn(h));
      if (host && s.finishedAt) first(`${host}/worker` as CeodProc, Date.parse(s.finishedAt));
    }
  }
  return out;
}

/**
 * New creates while Redis fails over, one every 500 ms on alternate API hosts,
 * each retried (503, dropped) until accepted: the lanes of the stream wait on
 * their jobs then, so these are what meet the window without a master.
 */
function probe(stats: HostPostStats) {
  const posts: Promise<HostAccepted | null>[] = [];
  let on = true;
  const loop = (async () => {
    for (let i = 0; on; i++) {
      posts.push(postCreateOnHosts(stack, tickets, i % 2 === 0 ? 'phosphoric-acid' : 'coffee', nextUid('s'), 's', stats, 180_000));
      await sleep(500);
    }
  })();
  return {
    async stop(): Promise<HostAccepted[]> {
      on = false;
      await loop;
      return (await Promise.all(posts)).filter((a): a is HostAccepted => a !== null);
    },
  };
}

const since = (t0: number, xs: Partial<Record<CeodProc, number>>) => Object.fromEntries(Object.entries(xs).map(([k, v]) => [k, v! - t0]));

test(`${full ? 'two Sentinel failovers' : 'a Sentinel failover'} mid-stream: every process reconnects by itself, every 202 completes once, 503 and never 500 meanwhile`, async () => {
  const stream = hostStream(stack, tickets, redis, cluster.prefix, 's', { lanes: 4, maxJobs: full ? 400 : 150 });
  const probeStats = newHostStats();
  const probed: HostAccepted[] = [];
  const phases: { name: string; start: number; promoted: number; writable: number; newMaster: RedisService; reconnects: Partial<Record<CeodProc, number>>; extra: Record<string, number> }[] = [];
  try {
    await sleep(4000);
    // 1. The master dies.
    const m0 = await sentinelMaster(stack);
    expect(m0).not.toBeNull();
    const dead = redisServiceAt(stack, m0!);
    const t0 = Date.now();
    const probes = probe(probeStats);
    const pid = signalService(stack, dead, 'SIGKILL');
    await waitGone(pid);
    const promoted = await waitMasterIs(other(dead), 60_000);
    const reconnects = watchReconnects(other(dead), RECONNECT_BOUND_MS + 30_000);
    await sleep(5000);
    const restartAt = Date.now();
    await startServiceOnHosts(stack, dead, { replicaOf: m0!.host === stack.inside.redis.host ? { host: stack.inside.redis.sentinel!.replica.host, port: stack.inside.redis.sentinel!.replica.port } : { host: stack.inside.redis.host, port: stack.inside.redis.port } });
    const writable = await waitReplicated(other(dead), 60_000);
    await sleep(2000);
    probed.push(...(await probes.stop()));
    phases.push({ name: 'sigkill', start: t0, promoted, writable, newMaster: other(dead), reconnects: await reconnects, extra: { old_master_restarted_ms: restartAt - t0 } });
    await sleep(5000);

    if (full) {
      // 2. A planned failover, back to the first master.
      const t1 = Date.now();
      const probes2 = probe(probeStats);
      const s1 = relayClient(stack, 'sentinel-1');
      await s1.connect();
      expect(await s1.call('SENTINEL', 'FAILOVER', stack.inside.redis.sentinel!.masterName)).toBe('OK');
      s1.disconnect();
      const promoted2 = await waitMasterIs(dead, 60_000);
      const reconnects2 = watchReconnects(dead, RECONNECT_BOUND_MS + 30_000);
      const writable2 = await waitReplicated(dead, 60_000);
      await sleep(2000);
      probed.push(...(await probes2.stop()));
      phases.push({ name: 'sentinel_failover', start: t1, promoted: promoted2, writable: writable2, newMaster: dead, reconnects: await reconnects2, extra: {} });
      await sleep(5000);
    }
  } finally {
    await stream.stop();
  }
  const jobs = [...stream.accepted, ...probed];
  expect(stream.stats.fiveHundreds).toEqual([]);
  expect(probeStats.fiveHundreds).toEqual([]);
  const records = await drain(redis, cluster.prefix, jobs, 300_000);
  const c = await checkConsistency(stack.outside, redis, cluster.prefix, jobs, records, { allowRolledBack: false, scenario: 's' });
  expect(c.problems).toEqual([]);
  expect(c.completed).toBe(jobs.length);
  const perUid = await jobsPerUid(redis, cluster.prefix, `${RUN_TAG}s`);
  const duplicated = [...perUid.values()].filter((ids) => ids.length > 1).length;
  expect(duplicated).toBe(0);
  // Nobody was restarted: the five processes are the ones started before the first kill.
  expect([...cluster.procs.values()].every((ch) => ch.exitCode === null && ch.signalCode === null)).toBe(true);

  const figures = phases.map((ph, i) => {
    // This phase's failures: from its start to the next phase's (or the end).
    const end = phases[i + 1]?.start ?? Infinity;
    // After the promotion: before it, a step may still finish on the old master.
    const work = firstWork(jobs, records, ph.promoted);
    const failed = [...stream.stats.failedAt, ...probeStats.failedAt].filter((x) => x >= ph.start && x < end);
    return {
      phase: ph.name,
      promoted_ms: ph.promoted - ph.start,
      writable_ms: ph.writable - ph.start,
      ...ph.extra,
      reconnected_ms: since(ph.start, ph.reconnects),
      next_work_ms: since(ph.start, work),
      posts_503_or_dropped: failed.length,
      // From the kill (or the failover command) to the last 503 or dropped post of the phase.
      last_503_ms: failed.length ? Math.max(...failed) - ph.start : 0,
    };
  });
  for (const ph of phases) {
    for (const p of CEOD_PROCS) {
      expect({ process: p, phase: ph.name, reconnected: ph.reconnects[p] !== undefined }).toEqual({ process: p, phase: ph.name, reconnected: true });
      expect(ph.reconnects[p]! - ph.promoted).toBeLessThan(RECONNECT_BOUND_MS);
    }
  }
  const d = durations(jobs, records);
  const recreated = CEOD_PROCS.filter((p) => p.endsWith('/worker')).map((p) => (cluster.logs(p).match(/watchdog: recreating/g) ?? []).length);
  report('sentinel_failover', {
    phases: figures,
    jobs_accepted: jobs.length,
    by_api: { 'phosphoric-acid': stream.stats.byApi['phosphoric-acid'] + probeStats.byApi['phosphoric-acid'], coffee: stream.stats.byApi.coffee + probeStats.byApi.coffee },
    completed: c.completed,
    lost: c.unfinished,
    failed: c.failed,
    rolled_back: c.rolledBack,
    duplicated,
    posts_503: stream.stats.retried503 + probeStats.retried503,
    posts_dropped: stream.stats.networkErrors + probeStats.networkErrors,
    posts_during_failovers: probeStats.posts,
    posts_during_failovers_accepted: probed.length,
    other_statuses: { ...stream.stats.other, ...probeStats.other },
    five_hundreds_other_than_503: stream.stats.fiveHundreds.length + probeStats.fiveHundreds.length,
    jobs_with_a_rerun_step: jobs.filter((j) => records.get(j.id).steps.some((s: any) => s.attempts > 1)).length,
    watchdog_recreations: recreated.reduce((a, b) => a + b, 0),
    job_ms_p50: percentile(d, 50),
    job_ms_max: Math.max(...d),
  });
}, 900_000);
