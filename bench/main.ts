/**
 * `npm run bench` (issue 3, benchmarks): starts a private stack in .bench-stack
 * (base port 30000), the ceod API and four workers as processes, and runs the
 * scenarios, each against a baseline measured in the same run. Prints a table
 * and writes bench/results.json.
 *
 *   npm run bench                  full run (N=300 creates per concurrency)
 *   npm run bench -- --quick       smoke run, < 2 minutes
 *   npm run bench -- --n 100       another N
 *   npm run bench -- --c 8,32      other concurrencies for scenario 1
 *   npm run bench -- --keep-stack  reuse the stack's data instead of starting clean
 *   npm run bench -- --only 1 --cpu-prof DIR   V8 CPU profiles of the ceod processes into DIR, summarized (top self time) in DIR/summary.json
 *   npm run bench -- --per-role-workers        a worker process per role, not per host (below)
 *   npm run bench -- --spnego-every-request    creates send a fresh SPNEGO token on each request
 *   npm run bench -- --only cli    the ceo client's wall time against curl --negotiate (bench/cli.ts)
 *   npm run bench -- --wait-replicas --only 8  Redis behind Sentinel (master, replica, 3 Sentinels on loopback):
 *                                  what the API's WAIT for a replica costs per create (scenario 8)
 *   npm run bench -- --only 9 --db-n 50        member databases (scenario 9) for another number of members
 *
 * Workers are laid out as the hosts of docs/hosts-and-roles.md: phosphoric-acid runs one worker for
 * the admin and fs roles, mail and coffee (db) one each. The bench client
 * authenticates as a client keeping its session does (the `ceo` client, curl
 * with a cookie jar): one SPNEGO handshake, then the session cookie.
 */
import https from 'node:https';
import { fork } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { chown, mkdir } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import IORedis from 'ioredis';
import { Queue, Worker } from 'bullmq';
import { redisAuth, startStack, stopStack, type StackInfo } from '../tools/devstack';
import type { JobRecord } from '../src/core/model/job';
import type { Role } from '../src/config/schema';
import { startCeod, Tickets, type CeodCluster, type ProcName } from '../tools/devstack/ceod-cluster';
import { REPO_ROOT } from '../tools/devstack/layout';
import { loadConfig } from '../src/config/load';
import { ldapOptions, redisServices } from '../src/compose';
import { createLdap } from '../src/ldap';
import { createLogger } from '../src/core/log';
import { submitJob } from '../src/jobs/submit';
import type { JobType } from '../src/jobs/step';
import { Runner } from '../src/workers/runner';
import type { Adapters } from '../src/core/ports';
import { z } from 'zod';
import { databaseBaseline, directCreate, homeBaseline, kadminBaseline, kadminSessionRate, ldapBaseline, mailmanBaseline, type Rate } from './baselines';
import { median, openFileLimit, percentile, pool, request, sse, watch, type Watched } from './http';
import { cpuBetween, cpuSnapshot, stackPids, type CpuUse } from './cpu';
import { stackLayout } from '../tools/devstack';
import { benchCli } from './cli';
import { summarizeProfiles } from './profile';

const argv = process.argv.slice(2);
const QUICK = argv.includes('--quick');
const flag = (name: string): string | undefined => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const N = Number(flag('--n') ?? (QUICK ? 24 : 300));
const CONCURRENCIES = flag('--c')?.split(',').map(Number) ?? (QUICK ? [1, 8] : [1, 8, 32]);
const LAT_N = QUICK ? 15 : 100;
const BASE_OPS = QUICK ? 40 : 200;
const NOOP_JOBS = QUICK ? 60 : 300;
const API_REQS = QUICK ? 1500 : 6000;
const SSE_CLIENTS = QUICK ? 200 : 1000;
const SSE_BIG = QUICK ? 2000 : 10_000;
const BULK_N = Number(flag('--bulk-n') ?? (QUICK ? 100 : 2000));
const DB_N = Number(flag('--db-n') ?? (QUICK ? 24 : 200));
const DB_LAT = QUICK ? 6 : 20;
const STACK_DIR = resolve(REPO_ROOT, '.bench-stack');
const BASE_PORT = Number(process.env.CEOD_BENCH_BASE_PORT ?? 30000);
const TAG = `b${Date.now().toString(36).slice(-5)}`;

const say = (s: string) => process.stdout.write(`[bench] ${s}\n`);
const round = (x: number, d = 2) => (Number.isFinite(x) ? Math.round(x * 10 ** d) / 10 ** d : x);
const since = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;

const results: Record<string, unknown> = {};
const table: [string, string, string][] = [];
const row = (what: string, value: string, note = '') => {
  table.push([what, value, note]);
  say(`${what}: ${value}${note ? `  (${note})` : ''}`);
};

interface Ctx {
  info: StackInfo;
  cluster: CeodCluster;
  tickets: Tickets;
  agent: https.Agent;
  /** The stack's CA: the API serves HTTPS. */
  ca: Buffer;
  /** `ceod_session=…` from one handshake; absent with --spnego-every-request. */
  cookie?: string;
}

const PER_ROLE_WORKERS = argv.includes('--per-role-workers');
/** Redis behind Sentinel with a replica, and the API's WAIT on (`[redis] wait_replicas = 1`): scenario 8 measures what it costs. */
const WAIT_REPLICAS = argv.includes('--wait-replicas');
const WAIT_N = QUICK ? 30 : 150;
const SPNEGO_EVERY_REQUEST = argv.includes('--spnego-every-request');

/** Headers that authenticate one request of a create: the session cookie, or a fresh SPNEGO token. */
const auth = async (ctx: Ctx): Promise<Record<string, string>> =>
  ctx.cookie ? { cookie: ctx.cookie } : { authorization: `Negotiate ${await ctx.tickets.token('ctdalek')}` };

/** One SPNEGO handshake; the session cookie it sets. */
async function sessionCookie(ctx: Ctx): Promise<string> {
  const hello = await request(ctx.agent, ctx.cluster.url, 'GET', '/api/members/ctdalek', { authorization: `Negotiate ${await ctx.tickets.token('ctdalek')}` });
  const cookie = /^(ceod_session=[^;]+)/.exec((hello.headers['set-cookie'] ?? []).find((c) => c.startsWith('ceod_session=')) ?? '')?.[1];
  if (hello.status !== 200 || !cookie) throw new Error(`no session cookie from a handshake (HTTP ${hello.status}); is [ceod] session_ttl_seconds 0?`);
  return cookie;
}

function memberPayload(uid: string) {
  return { uid, cn: `Bench ${uid}`, given_name: 'Bench', sn: uid, program: 'MATH', terms: ['w2027'], forwarding_addresses: [`${uid}@example.org`] };
}

/** POST a create-member, then follow its events to the final one. Returns ms and the job id. */
async function createOne(ctx: Ctx, uid: string): Promise<{ ms: number; id: string; state: string }> {
  const t0 = process.hrtime.bigint();
  const res = await request(ctx.agent, ctx.cluster.url, 'POST', '/api/members', await auth(ctx), memberPayload(uid));
  if (res.status !== 202) throw new Error(`POST /api/members ${uid}: ${res.status} ${JSON.stringify(res.body)}`);
  const events = await sse(ctx.agent, ctx.cluster.url, res.body.events_url, await auth(ctx));
  const last = events[events.length - 1];
  return { ms: since(t0), id: res.body.id, state: last?.event ?? 'none' };
}

function vmHwmKb(pid: number | undefined): number {
  if (!pid) return NaN;
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : NaN;
  } catch {
    return NaN;
  }
}

async function usedMemory(redis: IORedis): Promise<number> {
  const info = await redis.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)![1]);
}

// ---------------------------------------------------------------- scenario 1

async function scenarioThroughput(ctx: Ctx, redis: IORedis): Promise<void> {
  say(`scenario 1: baselines (${BASE_OPS} ops each, concurrency 1 and 8; best kept)`);
  const best: Record<string, Rate & { cpu: CpuUse }> = {};
  let number = 60000;
  const roots = () => ({ ...stackPids(stackLayout(ctx.info.dir).runDir), ...Object.fromEntries([...ctx.cluster.procs].map(([k, p]) => [`ceod ${k}`, p.pid!])), 'bench client': process.pid });
  // What each baseline costs in CPU (its tool's processes count under "bench client"), and how busy the machine was.
  const measured = async (run: () => Promise<Rate>) => {
    const r0 = roots();
    const cpu0 = cpuSnapshot(r0);
    const rate = await run();
    return { ...rate, cpu: cpuBetween(cpu0, cpuSnapshot(r0), rate.ops) };
  };
  for (const c of [1, 8]) {
    const rates = [
      await measured(() => ldapBaseline(ctx.info, `${TAG}c${c}`, BASE_OPS, c, (number += BASE_OPS + 10))),
      await measured(() => kadminBaseline(ctx.info, TAG, BASE_OPS, c)),
      await measured(() => homeBaseline(ctx.info, TAG, BASE_OPS, c, (number += BASE_OPS + 10))),
      await measured(() => mailmanBaseline(ctx.info, TAG, BASE_OPS, c)),
    ];
    for (const r of rates) {
      say(`  ${r.name} c=${c}: ${round(r.per_s, 1)}/s (machine ${Math.round(r.cpu.machineBusy * 100)}% busy)`);
      if (!best[r.name] || best[r.name]!.per_s < r.per_s) best[r.name] = r;
    }
  }
  const baselines = Object.values(best);
  const slowest = baselines.reduce((a, b) => (a.per_s <= b.per_s ? a : b));
  const cpuTotal = (u: CpuUse) => round(Object.values(u.msPerUnit).reduce((a, b) => a + b, 0), 1);
  for (const b of baselines) row(`baseline ${b.name}`, `${round(b.per_s, 1)}/s`, `c=${b.concurrency}; ${cpuTotal(b.cpu)} ms CPU per op, machine ${Math.round(b.cpu.machineBusy * 100)}% busy`);
  results['baselines'] = Object.fromEntries(
    baselines.map((b) => [b.name, { per_s: round(b.per_s, 1), concurrency: b.concurrency, ops: b.ops, cpu_ms_per_op: cpuTotal(b.cpu), cpu_ms_per_op_by_process: b.cpu.msPerUnit, machine_cpu_busy: b.cpu.machineBusy }]),
  );
  const session = await kadminSessionRate(ctx.info, TAG, BASE_OPS);
  row(`reference ${session.name}`, `${round(session.per_s, 1)}/s`, 'not a baseline: what the admin worker uses');
  results['reference'] = { kadmin_session_addprinc_per_s: round(session.per_s, 1) };

  say(`scenario 1: ${N} create-member jobs through the API at concurrency ${CONCURRENCIES.join(', ')}`);
  const mem0 = await usedMemory(redis);
  let completed = 0;
  const perC: Record<string, unknown> = {};
  let bestRate = 0;
  let bestCpu = NaN;
  let atBest: { efficiency: number; calls: number; ceod_ms: number; servers_ms: number; c: number } | undefined;
  for (const c of CONCURRENCIES) {
    const r0 = roots();
    const cpu0 = cpuSnapshot(r0);
    const cmd0 = await commandStats(redis);
    const t0 = process.hrtime.bigint();
    const runs = await pool(N, c, (i) => createOne(ctx, `${TAG}c${c}n${i}`));
    const s = since(t0) / 1000;
    const cpu = cpuBetween(cpu0, cpuSnapshot(r0), N);
    const cmds = commandsBetween(cmd0, await commandStats(redis), N);
    const ok = runs.filter((r) => r.state === 'completed').length;
    completed += ok;
    const rate = ok / s;
    const eff = efficiency(cpu);
    if (rate > bestRate) {
      bestCpu = cpuTotal(cpu);
      atBest = { ...eff, calls: cmds.perUnit, c };
    }
    bestRate = Math.max(bestRate, rate);
    const steps = await stepSplit(redis, ctx.cluster.prefix, runs.map((r) => r.id));
    perC[`c${c}`] = { members_per_s: round(rate), seconds: round(s), completed: ok, failed: N - ok, p50_ms: round(median(runs.map((r) => r.ms)), 1), steps, cpu_ms_per_member: cpuTotal(cpu), cpu_ms_per_member_by_process: cpu.msPerUnit, machine_cpu_busy: cpu.machineBusy, efficiency: eff.efficiency, servers_cpu_ms_per_member: eff.servers_ms, ceod_and_redis_cpu_ms_per_member: eff.ceod_ms, redis_calls_per_member: cmds.perUnit, redis_calls_by_command: cmds.top };
    row(`create-member c=${c}`, `${round(rate, 1)} members/s`, `${ok}/${N} completed in ${round(s, 1)} s; ratio ${round(rate / slowest.per_s)} of slowest baseline`);
    row(`  steps c=${c} (p50 wait/work ms)`, Object.entries(steps).map(([k, v]) => `${k} ${v.wait_p50}/${v.work_p50}`).join(', '), 'from the job records');
    const top = Object.entries(cpu.msPerUnit).filter(([, v]) => v >= 1);
    row(`  Redis c=${c} (calls per member)`, `${cmds.perUnit}: ${Object.entries(cmds.top).slice(0, 8).map(([k, v]) => `${k} ${v}`).join(', ')}`, 'INFO commandstats');
    row(`  CPU c=${c} (ms per member)`, `${cpuTotal(cpu)}: ${top.map(([k, v]) => `${k} ${v}`).join(', ')}`, `machine ${Math.round(cpu.machineBusy * 100)}% busy (all users)`);
    row(`  efficiency c=${c}`, `${eff.efficiency}`, `servers ceod drives ${eff.servers_ms} ms / every process but the bench client; ceod + Redis ${eff.ceod_ms} ms per member (goal >= 0.75)`);
  }
  const mem1 = await usedMemory(redis);
  results['create'] = {
    members_per_s: round(bestRate),
    slowest_baseline: slowest.name,
    slowest_baseline_per_s: round(slowest.per_s),
    ratio_to_slowest_baseline: round(bestRate / slowest.per_s),
    // When both are CPU-bound on the same cores, the throughput ratio is about
    // the inverse ratio of their CPU costs (every process on the machine that
    // serves them, the benchmark's own client included).
    cpu_ms_per_member: bestCpu,
    slowest_baseline_cpu_ms_per_op: cpuTotal(slowest.cpu),
    cpu_cost_ratio: round(cpuTotal(slowest.cpu) / bestCpu),
    // At the concurrency of the best rate: the servers' share of the CPU a create costs (bench client left out).
    efficiency: atBest?.efficiency ?? null,
    efficiency_concurrency: atBest?.c ?? null,
    servers_cpu_ms_per_member: atBest?.servers_ms ?? null,
    ceod_and_redis_cpu_ms_per_member: atBest?.ceod_ms ?? null,
    by_concurrency: perC,
    n: N,
  };
  results['redis'] = { calls_per_create: atBest?.calls ?? null, concurrency: atBest?.c ?? null, by_concurrency: Object.fromEntries(Object.entries(perC).map(([k, v]) => [k, (v as any).redis_calls_per_member])) };
  row('create ratio to slowest baseline', `${round(bestRate / slowest.per_s)}`, `best of concurrencies vs ${slowest.name} (goal >= 0.8)`);
  row('CPU cost ratio', `${round(cpuTotal(slowest.cpu) / bestCpu)}`, `${cpuTotal(slowest.cpu)} ms CPU per ${slowest.name} vs ${bestCpu} ms per create-member, whole machine`);

  // Scenario 7: memory during scenario 1.
  const rss: Record<string, number> = {};
  for (const [name, child] of ctx.cluster.procs) rss[name] = round(vmHwmKb(child.pid) / 1024, 1);
  const perJob = completed > 0 ? (mem1 - mem0) / completed : NaN;
  results['memory'] = { peak_rss_mb: rss, redis_bytes_per_completed_job: Math.round(perJob), jobs_kept: completed };
  row('peak RSS (MB)', Object.entries(rss).map(([k, v]) => `${k} ${v}`).join(', '), 'VmHWM after scenario 1');
  row('Redis used_memory per kept job', `${round(perJob / 1024, 1)} KB`, `${completed} jobs`);
}

/** The servers a create drives: their CPU is the work asked for; everything else but the bench client is ceod's (and Redis's) cost. */
const DRIVEN_SERVERS = ['mailman', 'kadmind', 'slapd', 'smtp'];

/** The servers' share of the CPU every process but the bench client spent (issue 13's efficiency). */
function efficiency(u: CpuUse): { efficiency: number; servers_ms: number; ceod_ms: number } {
  const entries = Object.entries(u.msPerUnit).filter(([k]) => k !== 'bench client');
  const all = entries.reduce((a, [, v]) => a + v, 0);
  const servers = entries.filter(([k]) => DRIVEN_SERVERS.includes(k)).reduce((a, [, v]) => a + v, 0);
  const ceod = entries.filter(([k]) => k.startsWith('ceod ') || k === 'redis').reduce((a, [, v]) => a + v, 0);
  return { efficiency: round(servers / all), servers_ms: round(servers, 1), ceod_ms: round(ceod, 1) };
}

/** Redis calls so far, by command (INFO commandstats). */
async function commandStats(redis: IORedis): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const m of (await redis.info('commandstats')).matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) out[m[1]!] = Number(m[2]);
  return out;
}

function commandsBetween(a: Record<string, number>, b: Record<string, number>, units: number): { perUnit: number; top: Record<string, number> } {
  const per = Object.entries(b)
    .map(([k, v]) => [k, round((v - (a[k] ?? 0)) / Math.max(1, units), 1)] as const)
    .filter(([, v]) => v > 0)
    .sort((x, y) => y[1] - x[1]);
  return { perUnit: round(per.reduce((t, [, v]) => t + v, 0), 1), top: Object.fromEntries(per) };
}

/** Per step, p50 and p90 of queue wait and work (ms), from the job records of `ids`. */
async function stepSplit(redis: IORedis, prefix: string, ids: string[]): Promise<Record<string, { wait_p50: number; wait_p90: number; work_p50: number; work_p90: number }>> {
  const acc: Record<string, { wait: number[]; work: number[] }> = {};
  const ms = (a?: string, b?: string) => (a && b ? Date.parse(b) - Date.parse(a) : NaN);
  for (let i = 0; i < ids.length; i += 200) {
    const raws = await redis.mget(ids.slice(i, i + 200).map((id) => `${prefix}:job:${id}`));
    for (const raw of raws) {
      if (!raw) continue;
      for (const st of (JSON.parse(raw) as JobRecord).steps) {
        const e = (acc[st.name] ??= { wait: [], work: [] });
        const wait = ms(st.queuedAt, st.startedAt);
        const work = ms(st.startedAt, st.finishedAt);
        if (Number.isFinite(wait)) e.wait.push(wait);
        if (Number.isFinite(work)) e.work.push(work);
      }
    }
  }
  return Object.fromEntries(
    Object.entries(acc).map(([k, v]) => [k, { wait_p50: median(v.wait), wait_p90: percentile(v.wait, 90), work_p50: median(v.work), work_p90: percentile(v.work, 90) }]),
  );
}

// ---------------------------------------------------------------- scenario 2

async function scenarioLatency(ctx: Ctx): Promise<void> {
  say(`scenario 2: ${LAT_N} sequential create-member jobs, POST to the completed event, alternating with the same eight operations called directly`);
  const runs: { ms: number; id: string }[] = [];
  const direct = await directCreate(ctx.info, TAG, 80000);
  const directMs: number[] = [];
  try {
    // Alternating, so a change in the machine's load falls on both alike.
    for (let i = 0; i < LAT_N; i++) {
      runs.push(await createOne(ctx, `${TAG}lat${i}`));
      directMs.push(await direct.run(i));
    }
  } finally {
    await direct.close();
  }
  const ms = runs.map((r) => r.ms);
  const steps: Record<string, { wait: number[]; work: number[] }> = {};
  for (const r of runs) {
    const job = await request(ctx.agent, ctx.cluster.url, 'GET', `/api/jobs/${r.id}`, await auth(ctx));
    for (const s of job.body.steps ?? []) {
      const e = (steps[s.name] ??= { wait: [], work: [] });
      if (typeof s.queue_wait_ms === 'number') e.wait.push(s.queue_wait_ms);
      if (typeof s.duration_ms === 'number') e.work.push(s.duration_ms);
    }
  }
  const split = Object.fromEntries(Object.entries(steps).map(([k, v]) => [k, { queue_wait_ms_p50: median(v.wait), work_ms_p50: median(v.work) }]));
  const waitSum = Object.values(split).reduce((a, s) => a + s.queue_wait_ms_p50, 0);
  const workSum = Object.values(split).reduce((a, s) => a + s.work_ms_p50, 0);
  results['latency'] = {
    create_p50_ms: round(median(ms), 1),
    create_p95_ms: round(percentile(ms, 95), 1),
    create_p99_ms: round(percentile(ms, 99), 1),
    n: LAT_N,
    steps: split,
    queue_wait_ms_p50_sum: waitSum,
    work_ms_p50_sum: workSum,
    direct_p50_ms: round(median(directMs), 1),
    direct_p95_ms: round(percentile(directMs, 95), 1),
    create_to_direct_ratio: round(median(ms) / median(directMs)),
  };
  row('one create p50 / p95 / p99', `${round(median(ms), 1)} / ${round(percentile(ms, 95), 1)} / ${round(percentile(ms, 99), 1)} ms`, `n=${LAT_N} (goal p50 <= 150 ms)`);
  row('the same eight operations directly, p50 / p95', `${round(median(directMs), 1)} / ${round(percentile(directMs, 95), 1)} ms`, `one process, in sequence; create / direct = ${round(median(ms) / median(directMs))} (goal <= 1.25)`);
  for (const [k, v] of Object.entries(split)) row(`  step ${k}`, `wait ${v.queue_wait_ms_p50} ms, work ${v.work_ms_p50} ms`, 'p50 from job records');
}

// ---------------------------------------------------------------- scenario 3

const noopType: JobType<{ n: number }> = {
  name: 'bench.noop',
  payload: z.object({ n: z.number() }),
  steps: Array.from({ length: 8 }, (_, i) => ({
    name: `noop${i}`,
    role: i % 2 === 0 ? ('admin' as const) : ('fs' as const),
    title: () => `no-op ${i}`,
    run: async () => undefined,
  })),
};

async function scenarioOverhead(info: StackInfo, configFile: string): Promise<void> {
  say(`scenario 3: ${NOOP_JOBS} jobs of 8 no-op steps over two roles vs ${NOOP_JOBS * 8} raw BullMQ no-op jobs`);
  const opened: IORedis[] = [];
  const conn = () => {
    const c = new IORedis(info.redis.url, { ...redisAuth(info), maxRetriesPerRequest: null });
    opened.push(c);
    return c;
  };
  const out: Record<string, unknown> = {};
  let key = NaN;
  for (const c of [1, 8]) {
    // Raw BullMQ: two queues (as two roles), 4 jobs each per ceod job, same concurrency per queue.
    const rawPrefix = `bench-raw-${TAG}-${c}`;
    const rc = conn();
    const queues = ['a', 'b'].map((q) => new Queue(`raw-${q}`, { connection: rc, prefix: rawPrefix }));
    let done = 0;
    const total = NOOP_JOBS * 8;
    let finish!: () => void;
    const all = new Promise<void>((r) => (finish = r));
    const t0 = process.hrtime.bigint();
    const workers = ['a', 'b'].map(
      (q) =>
        new Worker(`raw-${q}`, async () => 'ok', { connection: conn(), prefix: rawPrefix, concurrency: c }).on('completed', () => {
          if (++done === total) finish();
        }),
    );
    for (const [qi, q] of queues.entries()) {
      await q.addBulk(Array.from({ length: total / 2 }, (_, i) => ({ name: 'noop', data: { i, qi }, opts: { removeOnComplete: { count: 10000 } } })));
    }
    await all;
    const rawMs = since(t0);
    await Promise.all(workers.map((w) => w.close()));
    await Promise.all(queues.map((q) => q.obliterate({ force: true }).then(() => q.close())));
    rc.disconnect();

    // ceod's runner: the same steps as jobs of the bench.noop type, on two
    // hosts (one runner per role: every step is a hand-off through its queue)
    // and on one host owning both roles (consecutive steps run in one queue job).
    const ceodRun = async (hosts: 'two' | 'one'): Promise<number> => {
      const config = loadConfig(configFile);
      const prefix = `bench-noop-${TAG}-${c}-${hosts}`;
      const cfg = { ...config, redis: { ...config.redis, prefix }, ceod: { ...config.ceod, worker_concurrency: c, log_level: 'silent' as const } };
      const redis = conn();
      const { store, queue: dispatcher, coordination } = redisServices({ ...cfg, ceod: { ...cfg.ceod, step_attempts: 3, job_retention_hours: 1 } } as typeof config, redis);
      const log = createLogger({ level: 'silent', host: 'bench', process: 'bench' });
      const roleSets: Role[][] = hosts === 'two' ? [['admin'], ['fs']] : [['admin', 'fs']];
      const runners = roleSets.map((roles) => new Runner({ config: cfg, store, queue: dispatcher, coordination, connection: conn(), adapters: {} as Adapters, log, roles, types: new Map([[noopType.name, noopType]]) }));
      for (const r of runners) await r.start();
      const t1 = process.hrtime.bigint();
      await pool(NOOP_JOBS, 16, (i) => submitJob({ store, queue: dispatcher }, noopType, { n: i }, 'bench'));
      while ((await redis.zcard(store.key.active())) > 0) await new Promise((r) => setTimeout(r, 5));
      const ms = since(t1);
      for (const r of runners) await r.stop(5000);
      await dispatcher.close();
      redis.disconnect();
      return ms;
    };
    const twoMs = await ceodRun('two');
    const oneMs = await ceodRun('one');

    const perStepRaw = rawMs / total;
    const overhead = twoMs / total - perStepRaw;
    const overheadOne = oneMs / total - perStepRaw;
    if (c === 1) key = overhead;
    out[`c${c}`] = {
      raw_jobs_per_s: round(total / (rawMs / 1000)),
      ceod_jobs_per_s: round(NOOP_JOBS / (twoMs / 1000)),
      ceod_steps_per_s: round(total / (twoMs / 1000)),
      overhead_ms_per_step: round(overhead, 3),
      one_host: { ceod_steps_per_s: round(total / (oneMs / 1000)), overhead_ms_per_step: round(overheadOne, 3) },
    };
    row(`orchestration c=${c}, two hosts`, `${round(overhead, 3)} ms/step overhead`, `raw ${round(total / (rawMs / 1000))} jobs/s, ceod ${round(total / (twoMs / 1000))} steps/s (a queue hand-off per step)`);
    row(`orchestration c=${c}, one host`, `${round(overheadOne, 3)} ms/step overhead`, `ceod ${round(total / (oneMs / 1000))} steps/s (both roles on one host: steps run back to back)`);
  }
  for (const c of opened) c.disconnect();
  results['overhead'] = { ms_per_step: round(key, 3), ms_per_step_basis: 'concurrency 1 per queue, two hosts (one role each: a queue hand-off per step)', by_concurrency: out };
}

// ---------------------------------------------------------------- scenario 8

/**
 * What the API's WAIT for a replica (`[redis] wait_replicas = 1`) costs per
 * create, on a Redis with a replica (--wait-replicas): (a) the submit alone
 * (record, first step, WAIT) in this process, with and without the WAIT, in
 * alternating rounds; (b) POST /api/members to its 202 through two API
 * processes, one waiting and one not, alternating, each job run to its end by
 * the same workers before the next POST (only the POST is timed).
 */
async function scenarioWait(ctx: Ctx, configFile: string): Promise<void> {
  if (!ctx.info.redis.sentinel) throw new Error('scenario 8 needs --wait-replicas (a Redis with a replica)');
  say(`scenario 8: the WAIT for a replica before a 202, ${WAIT_N} submits and ${WAIT_N} creates each way`);
  const config = loadConfig(configFile);
  const noop: JobType<{ n: number }> = { name: 'bench.wait', payload: z.object({ n: z.number() }), steps: [{ name: 'noop', role: 'db', title: () => 'noop', run: async () => ({ result: {} }) }] } as unknown as JobType<{ n: number }>;
  const conn = new IORedis(ctx.info.redis.url, { ...redisAuth(ctx.info), maxRetriesPerRequest: 2 });
  const prefix = `bench-wait-${TAG}`;
  const services = (wait: number) => redisServices({ ...config, redis: { ...config.redis, prefix, wait_replicas: wait, wait_timeout_ms: 1000 } } as typeof config, conn);
  const off = services(0);
  const on = services(1);
  const submitMs: Record<'off' | 'on', number[]> = { off: [], on: [] };
  for (let round = 0; round < 6; round++) {
    for (const [k, svc] of [['off', off], ['on', on]] as const) {
      for (let i = 0; i < WAIT_N / 6; i++) {
        const t0 = process.hrtime.bigint();
        await submitJob({ store: svc.store, queue: svc.queue }, noop, { n: i }, 'bench');
        submitMs[k].push(since(t0));
      }
    }
  }
  // Concurrent submits share the connection: one WAIT covers every write before it.
  const concMs: Record<'off' | 'on', number> = { off: 0, on: 0 };
  for (let round = 0; round < 3; round++) {
    for (const [k, svc] of [['off', off], ['on', on]] as const) {
      const t0 = process.hrtime.bigint();
      await pool(WAIT_N, 8, (i) => submitJob({ store: svc.store, queue: svc.queue }, noop, { n: i }, 'bench'));
      concMs[k] += since(t0);
    }
  }
  const conc = { off: (3 * WAIT_N) / (concMs.off / 1000), on: (3 * WAIT_N) / (concMs.on / 1000) };
  await Promise.all([off.queue.close(), on.queue.close()]);
  const keys = await conn.keys(`${prefix}:*`);
  for (let i = 0; i < keys.length; i += 500) await conn.del(...keys.slice(i, i + 500));
  conn.disconnect();

  // Through the API: a second API process that does not wait, on the same workers.
  const noWait = await startCeod(ctx.info, { name: 'bench-nowait', procs: ['api'], edits: { api: { redis: { prefix: ctx.cluster.prefix, wait_replicas: 0 } } } });
  const apiMs: Record<'off' | 'on', number[]> = { off: [], on: [] };
  try {
    let i = 0;
    for (let round = 0; round < 6; round++) {
      for (const [k, url] of [['off', noWait.url], ['on', ctx.cluster.url]] as const) {
        for (let j = 0; j < WAIT_N / 6; j++) {
          const t0 = process.hrtime.bigint();
          const res = await request(ctx.agent, url, 'POST', '/api/members', await auth(ctx), memberPayload(`${TAG}w${k}${i++}`));
          if (res.status !== 202) throw new Error(`POST /api/members: ${res.status} ${JSON.stringify(res.body)}`);
          apiMs[k].push(since(t0));
          // The job runs to its end before the next POST, so no earlier job's steps compete with the one measured.
          await sse(ctx.agent, url, res.body.events_url, await auth(ctx));
        }
      }
    }
  } finally {
    await noWait.stop();
  }
  const fig = (xs: number[]) => ({ p50_ms: round(median(xs), 3), p90_ms: round(percentile(xs, 90), 3), mean_ms: round(xs.reduce((a, b) => a + b, 0) / xs.length, 3) });
  const cost = round(median(submitMs.on) - median(submitMs.off), 3);
  const apiCost = round(median(apiMs.on) - median(apiMs.off), 3);
  results['wait_replicas'] = {
    submit: { without_wait: fig(submitMs.off), with_wait: fig(submitMs.on), cost_p50_ms: cost },
    submit_concurrency_8_per_s: { without_wait: round(conc.off, 1), with_wait: round(conc.on, 1) },
    api_post_to_202: { without_wait: fig(apiMs.off), with_wait: fig(apiMs.on), cost_p50_ms: apiCost },
    n: WAIT_N,
    basis: 'Redis master + 1 replica on loopback (AOF everysec, min-replicas-to-write 1), WAIT 1 1000',
  };
  row('WAIT 1, submit (record + first step)', `+${cost} ms p50`, `${round(median(submitMs.off), 2)} → ${round(median(submitMs.on), 2)} ms; at concurrency 8: ${round(conc.off, 0)} → ${round(conc.on, 0)} submits/s`);
  row('WAIT 1, POST /api/members to 202', `+${apiCost} ms p50`, `${round(median(apiMs.off), 2)} → ${round(median(apiMs.on), 2)} ms (p90 ${round(percentile(apiMs.off, 90), 1)} → ${round(percentile(apiMs.on, 90), 1)})`);
}

// ---------------------------------------------------------------- scenario 4

/** Per-request auth for the load loop: a fresh token each, one cookie for all, or none. */
type LoadAuth = { tokens: string[] } | { cookie: string } | null;

interface LoadRun {
  n: number;
  secs: number;
  lat: number[];
  errors: number;
}

async function load(ctx: Ctx, n: number, conns: number, path: string, auth: LoadAuth): Promise<LoadRun> {
  const agent = new https.Agent({ keepAlive: true, maxSockets: conns, ca: ctx.ca });
  const lat: number[] = [];
  let errors = 0;
  const t0 = process.hrtime.bigint();
  await pool(n, conns, async (i) => {
    const headers: Record<string, string> = !auth ? {} : 'tokens' in auth ? { authorization: `Negotiate ${auth.tokens[i]}` } : { cookie: auth.cookie };
    const s = process.hrtime.bigint();
    const res = await request(agent, ctx.cluster.url, 'GET', path, headers);
    lat.push(since(s));
    if (res.status !== 200) errors += 1;
  });
  const secs = since(t0) / 1000;
  agent.destroy();
  return { n, secs, lat, errors };
}

/** Rounds of one kind of load, summed: requests/s over all rounds, latencies over all requests. */
function combined(runs: LoadRun[]): { rps: number; p50: number; p99: number; errors: number; rounds_rps: number[] } {
  const lat = runs.flatMap((r) => r.lat);
  return {
    rps: runs.reduce((a, r) => a + r.n, 0) / runs.reduce((a, r) => a + r.secs, 0),
    p50: median(lat),
    p99: percentile(lat, 99),
    errors: runs.reduce((a, r) => a + r.errors, 0),
    rounds_rps: runs.map((r) => round(r.n / r.secs, 0)),
  };
}

const API_ROUNDS = 3;

/**
 * Unauthenticated /health, the same GET /api/members/:uid with a SPNEGO
 * handshake on every request, and with the session cookie one handshake set
 * (what curl with a cookie jar, or a browser, sends), on the same server. The
 * three alternate in rounds, so a change in the machine's load (it is shared)
 * falls on all three alike.
 */
async function scenarioApi(ctx: Ctx): Promise<void> {
  say(`scenario 4: ${API_REQS} requests at 50 connections each, in ${API_ROUNDS} alternating rounds: /health, GET /api/members/regular1 with SPNEGO every request, and with the session cookie`);
  // SPNEGO tokens cannot be replayed: one fresh token per request, made before the clock starts.
  const tg = process.hrtime.bigint();
  const tokens: string[] = [];
  for (let i = 0; i < API_REQS; i++) tokens.push(await ctx.tickets.token('ctdalek'));
  const tokenMs = since(tg) / API_REQS;
  const cookie = await sessionCookie(ctx);
  await load(ctx, 200, 50, '/health', null); // warm-up
  const per = Math.floor(API_REQS / API_ROUNDS);
  const runs = { unauth: [] as LoadRun[], spnego: [] as LoadRun[], session: [] as LoadRun[] };
  for (let r = 0; r < API_ROUNDS; r++) {
    runs.unauth.push(await load(ctx, per, 50, '/health', null));
    runs.spnego.push(await load(ctx, per, 50, '/api/members/regular1', { tokens: tokens.slice(r * per, (r + 1) * per) }));
    runs.session.push(await load(ctx, per, 50, '/api/members/regular1', { cookie }));
  }
  const unauth = combined(runs.unauth);
  const spnego = combined(runs.spnego);
  const session = combined(runs.session);
  const spnegoRatio = spnego.rps / unauth.rps;
  const cookieRatio = session.rps / unauth.rps;
  const figures = (r: ReturnType<typeof combined>) => ({ rps: round(r.rps, 1), p50_ms: round(r.p50, 1), p99_ms: round(r.p99, 1), errors: r.errors, rounds_rps: r.rounds_rps });
  results['api'] = {
    // What clients that keep the cookie (curl -c/-b, browsers, the ceo client) see.
    auth_to_unauth_ratio: round(cookieRatio),
    auth_basis: 'session cookie (one SPNEGO handshake, then the cookie)',
    spnego_every_request_ratio: round(spnegoRatio),
    cookie_to_spnego_speedup: round(session.rps / spnego.rps),
    unauth_health: figures(unauth),
    spnego_every_request: figures(spnego),
    session_cookie: figures(session),
    // Kept from earlier runs' shape: the cookie path.
    auth_rps: round(session.rps, 1),
    auth_p99_ms: round(session.p99, 1),
    unauth_rps: round(unauth.rps, 1),
    unauth_p99_ms: round(unauth.p99, 1),
    client_token_ms: round(tokenMs, 3),
    connections: 50,
    requests: per * API_ROUNDS,
    rounds: API_ROUNDS,
  };
  row('GET /health (unauth)', `${round(unauth.rps, 0)} req/s, p99 ${round(unauth.p99, 1)} ms`, `${unauth.errors} errors`);
  row('GET /api/members/:uid, SPNEGO every request', `${round(spnego.rps, 0)} req/s, p99 ${round(spnego.p99, 1)} ms`, `${spnego.errors} errors; ratio ${round(spnegoRatio)} of /health`);
  row('GET /api/members/:uid, session cookie', `${round(session.rps, 0)} req/s, p99 ${round(session.p99, 1)} ms`, `${session.errors} errors; ratio ${round(cookieRatio)} of /health`);
  row('auth / unauth ratio', `${round(cookieRatio)}`, `with the session cookie (SPNEGO on every request: ${round(spnegoRatio)})`);
}

// ---------------------------------------------------------------- scenario 5

interface SseRun {
  clients: number;
  connected: number;
  failed_clients: number;
  deliveries: number;
  delay_p50_ms: number;
  delay_p99_ms: number;
  /** Job events after the go (each delivered to every client). */
  events: number;
  /** Redis stream reads (XRANGE/XREAD) per job event while the job ran: independent of the client count is the goal. */
  stream_reads_per_event: number;
  redis_calls_while_running: Record<string, number>;
  connect_s: number;
}

/**
 * `clients` SSE clients (one session cookie, as one caller with many tabs)
 * watch one job of six 300 ms steps, run by an engine in a process of its own
 * (bench/slow-runner.ts) on the db queue (the cluster's db worker is stopped
 * meanwhile). Delay = arrival at the client − the transition's own timestamp.
 */
async function sseRun(ctx: Ctx, redis: IORedis, clients: number): Promise<SseRun> {
  await ctx.cluster.kill('db');
  const child = fork(join(__dirname, 'slow-runner.js'), [ctx.cluster.configs.db, ctx.info.redis.url, ctx.info.redis.user, ctx.info.redis.password], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const message = (want: string) => new Promise<any>((resolve, reject) => {
    const on = (m: any) => {
      if (m && typeof m === 'object' && want in m) {
        child.off('message', on);
        resolve(m);
      }
    };
    child.on('message', on);
    child.once('exit', (code) => reject(new Error(`slow runner exited ${code}`)));
  });
  try {
    const { id } = await message('id');
    const path = `/api/jobs/${id}/events`;
    const agent = new https.Agent({ keepAlive: false, maxSockets: Infinity, ca: ctx.ca });
    let open = 0;
    let started = 0;
    const tc = process.hrtime.bigint();
    const watchers: Promise<Watched>[] = [];
    // In waves: a burst of thousands of connects overflows the listen backlog.
    while (started < clients) {
      if (started - open >= 256) {
        await new Promise((r) => setTimeout(r, 2));
        continue;
      }
      started += 1;
      watchers.push(watch(agent, ctx.cluster.url, path, { cookie: ctx.cookie! }, () => (open += 1)));
    }
    const deadline = Date.now() + 120_000;
    while (open < clients && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const connectS = since(tc) / 1000;
    await new Promise((r) => setTimeout(r, 200)); // the replayed `queued` event is out everywhere
    const cmd0 = await commandStats(redis);
    const goAt = Date.now();
    const done = message('done');
    child.send('go');
    const settled = await Promise.allSettled(watchers);
    await done;
    const cmd1 = await commandStats(redis);
    agent.destroy();
    // The transitions' own timestamps, read once from the job's stream.
    const at = new Map<string, number>();
    for (const [eid, fields] of await redis.xrange(`${ctx.cluster.prefix}:events:${id}`, '-', '+')) {
      const data = fields[fields.indexOf('data') + 1];
      const t = data ? Date.parse(JSON.parse(data).at) : NaN;
      if (t >= goAt) at.set(eid, t);
    }
    const delays: number[] = [];
    for (const s of settled) {
      if (s.status !== 'fulfilled') continue;
      s.value.ids.forEach((eid, i) => {
        const t = at.get(eid);
        if (t !== undefined) delays.push(s.value.arrivals[i]! - t);
      });
    }
    const calls = commandsBetween(cmd0, cmd1, 1).top;
    const reads = (calls['xrange'] ?? 0) + (calls['xread'] ?? 0) + (calls['xrevrange'] ?? 0);
    return {
      clients,
      connected: open,
      failed_clients: settled.filter((s) => s.status === 'rejected').length,
      deliveries: delays.length,
      delay_p50_ms: round(median(delays), 1),
      delay_p99_ms: round(percentile(delays, 99), 1),
      events: at.size,
      stream_reads_per_event: round(reads / Math.max(1, at.size), 2),
      redis_calls_while_running: calls,
      connect_s: round(connectS, 1),
    };
  } finally {
    if (child.exitCode === null) child.kill();
    await ctx.cluster.start('db');
  }
}

async function scenarioSse(ctx: Ctx, redis: IORedis): Promise<void> {
  const out: Record<string, unknown> = {};
  for (const clients of [SSE_CLIENTS, SSE_BIG]) {
    // Each stream holds a socket in this process and in the API's.
    const limit = openFileLimit();
    if (clients + 500 > limit) {
      row(`SSE ${clients} clients`, 'skipped', `open-file limit ${limit} (scripts/bench.js raises it where it may)`);
      continue;
    }
    say(`scenario 5: ${clients} SSE clients watching one job`);
    const r = await sseRun(ctx, redis, clients);
    out[`c${clients}`] = r;
    row(`SSE ${clients} clients: delay p50 / p99`, `${r.delay_p50_ms} / ${r.delay_p99_ms} ms`, `${r.connected}/${clients} connected in ${r.connect_s} s, ${r.deliveries} deliveries, ${r.failed_clients} failed; ${r.stream_reads_per_event} stream reads per event`);
  }
  const small = out[`c${SSE_CLIENTS}`] as SseRun | undefined;
  const big = out[`c${SSE_BIG}`] as SseRun | undefined;
  results['sse'] = {
    // Kept from earlier runs' shape: the 1,000-client run.
    clients: small?.clients ?? null,
    connected: small?.connected ?? null,
    failed_clients: small?.failed_clients ?? null,
    deliveries: small?.deliveries ?? null,
    delay_p50_ms: small?.delay_p50_ms ?? null,
    delay_p99_ms: small?.delay_p99_ms ?? null,
    delay_p99_ms_10k: big?.delay_p99_ms ?? null,
    by_clients: out,
  };
}

// ---------------------------------------------------------------- main

// ---------------------------------------------------------------- scenario 6

/**
 * Bulk: 2 × BULK_N members seeded straight into LDAP with a long-past term,
 * expired as one job (POST /api/members/expire); then the first BULK_N renewed
 * as one job (POST /api/members/renew, where the API has it), the other BULK_N
 * as one job each (POST /api/members/:uid/renew at concurrency 32).
 */
async function scenarioBulk(ctx: Ctx, configFile: string): Promise<void> {
  const total = 2 * BULK_N;
  say(`scenario 6: seeding ${total} lapsed members, then expire (one job), renew ${BULK_N} as one job and ${BULK_N} as one job each`);
  const config = loadConfig(configFile);
  const ldap = createLdap(ldapOptions(config));
  const uids = Array.from({ length: total }, (_, i) => `${TAG}x${i}`);
  const first = config.members.max_id - total; // clear of the numbers scenario 1 takes from the bottom
  try {
    await pool(total, 16, (i) =>
      ldap.addUser({
        uid: uids[i]!, cn: `Bulk ${i}`, givenName: 'Bulk', sn: String(i), uidNumber: first + i, gidNumber: first + i,
        homeDirectory: `${config.members.home_root}/${uids[i]}`, loginShell: '/bin/bash', program: 'MATH', terms: ['w2001'], kind: 'member',
      }),
    );
  } finally {
    await ldap.close();
  }
  const dry = await request(ctx.agent, ctx.cluster.url, 'POST', '/api/members/expire', await auth(ctx), { dry_run: true });
  const lapsed = ((dry.body?.uids ?? []) as string[]).filter((u) => u.startsWith(TAG));
  if (lapsed.length !== total) throw new Error(`dry run lists ${lapsed.length} of the ${total} seeded members`);
  let t0 = process.hrtime.bigint();
  const res = await request(ctx.agent, ctx.cluster.url, 'POST', '/api/members/expire', await auth(ctx), {});
  if (res.status !== 202) throw new Error(`POST /api/members/expire: ${res.status} ${JSON.stringify(res.body)}`);
  const events = await sse(ctx.agent, ctx.cluster.url, res.body.events_url, await auth(ctx));
  const expireMs = since(t0);
  if (events[events.length - 1]?.event !== 'completed') throw new Error(`expire job ended ${events[events.length - 1]?.event}`);
  row('bulk expire, one job', `${round(dry.body.uids.length / (expireMs / 1000), 1)} members/s`, `${dry.body.uids.length} members in ${round(expireMs / 1000, 1)} s, expiry mails included`);

  // One bulk job for the first half.
  const bulkUids = uids.slice(0, BULK_N);
  t0 = process.hrtime.bigint();
  const bulk = await request(ctx.agent, ctx.cluster.url, 'POST', '/api/members/renew', await auth(ctx), { uids: bulkUids, terms: ['w2027'] });
  let bulkRate: number | null = null;
  let bulkRenewed: number | null = null;
  let bulkMs: number | null = null;
  if (bulk.status === 202) {
    const ev = await sse(ctx.agent, ctx.cluster.url, bulk.body.events_url, await auth(ctx));
    bulkMs = since(t0);
    if (ev[ev.length - 1]?.event !== 'completed') throw new Error(`renew_members job ended ${ev[ev.length - 1]?.event}`);
    const job = await request(ctx.agent, ctx.cluster.url, 'GET', bulk.body.status_url, await auth(ctx));
    const outcomes = (job.body?.result?.outcomes ?? {}) as Record<string, string>;
    bulkRenewed = bulkUids.filter((u) => outcomes[u] === 'renewed').length;
    bulkRate = bulkRenewed / (bulkMs / 1000);
    row('bulk renew, one job', `${round(bulkRate, 1)} members/s`, `${bulkRenewed}/${BULK_N} renewed (terms added, shells restored) in ${round(bulkMs / 1000, 1)} s`);
  } else {
    row('bulk renew, one job', 'not available', `POST /api/members/renew: HTTP ${bulk.status}`);
  }

  // One job each for the second half.
  const eachUids = uids.slice(BULK_N);
  t0 = process.hrtime.bigint();
  const states = await pool(eachUids.length, 32, async (i) => {
    const r = await request(ctx.agent, ctx.cluster.url, 'POST', `/api/members/${eachUids[i]}/renew`, await auth(ctx), { terms: ['w2027'] });
    if (r.status !== 202) return `http ${r.status}`;
    const ev = await sse(ctx.agent, ctx.cluster.url, r.body.events_url, await auth(ctx));
    return ev[ev.length - 1]?.event ?? 'none';
  });
  const renewMs = since(t0);
  const completed = states.filter((s) => s === 'completed').length;
  const eachRate = completed / (renewMs / 1000);
  row('bulk renew, one job each (c=32)', `${round(eachRate, 1)} members/s`, `${completed}/${eachUids.length} completed in ${round(renewMs / 1000, 1)} s, shells restored`);
  results['bulk'] = {
    members: BULK_N,
    expired_members: dry.body.uids.length,
    expire_s: round(expireMs / 1000, 2),
    expire_members_per_s: round(dry.body.uids.length / (expireMs / 1000), 1),
    // The bulk job where the API has it, else one job per member (as before POST /api/members/renew).
    renew_members_per_s: round(bulkRate ?? eachRate, 1),
    renew_basis: bulkRate !== null ? 'one renew_members job' : 'one renew_member job each, c=32',
    renew_bulk_s: bulkMs === null ? null : round(bulkMs / 1000, 2),
    renew_bulk_renewed: bulkRenewed,
    renew_each_s: round(renewMs / 1000, 2),
    renew_each_members_per_s: round(eachRate, 1),
    renew_completed: completed,
  };
}

// ---------------------------------------------------------------- scenario 9

/**
 * Member databases: DB_N members seeded straight into LDAP (with their
 * homes), then a MySQL and a PostgreSQL database each through the API
 * (POST /api/db/{mysql,postgresql}/:uid, followed to the final event), eight
 * members at a time, each member's two one after the other (one job per
 * account at a time). The baseline: the same statements ceod's adapters send,
 * one member after another over one mysql2 and one pg connection. Then
 * DB_LAT creates one at a time: the latency of one, POST to completed.
 */
async function scenarioDatabases(ctx: Ctx, redis: IORedis, configFile: string): Promise<void> {
  say(`scenario 9: a MySQL + a PostgreSQL database for ${DB_N} members at concurrency 8, vs the same statements over one mysql2 / pg connection`);
  const config = loadConfig(configFile);
  const total = DB_N + DB_LAT;
  // Not `${TAG}d…`: scenario 2's direct baseline names its users so.
  const uids = Array.from({ length: total }, (_, i) => `${TAG}db${i}`);
  const first = config.members.max_id - 2 * BULK_N - total - 10; // clear of scenario 1 (bottom) and scenario 6 (top)
  const ldap = createLdap(ldapOptions(config));
  try {
    await pool(total, 16, async (i) => {
      const n = first + i;
      const home = `${config.members.home_root}/${uids[i]}`;
      await ldap.addUser({ uid: uids[i]!, cn: `Db ${i}`, sn: String(i), uidNumber: n, gidNumber: n, homeDirectory: home, loginShell: '/bin/bash', terms: ['w2027'], kind: 'member' });
      await mkdir(home, { mode: 0o755 });
      await chown(home, n, n);
    });
  } finally {
    await ldap.close();
  }

  const base = await databaseBaseline(ctx.info, TAG, DB_N);
  for (const r of [base.mysql, base.postgresql, base.both]) row(`baseline ${r.name}`, `${round(r.per_s, 1)} databases/s`, `${r.ops} in ${round(r.seconds, 1)} s, one after another`);

  const createDb = async (uid: string, kind: 'mysql' | 'postgresql') => {
    const t0 = process.hrtime.bigint();
    const res = await request(ctx.agent, ctx.cluster.url, 'POST', `/api/db/${kind}/${uid}`, await auth(ctx));
    if (res.status !== 202) throw new Error(`POST /api/db/${kind}/${uid}: ${res.status} ${JSON.stringify(res.body)}`);
    const events = await sse(ctx.agent, ctx.cluster.url, res.body.events_url, await auth(ctx));
    return { ms: since(t0), id: res.body.id as string, state: events[events.length - 1]?.event ?? 'none' };
  };
  const t0 = process.hrtime.bigint();
  const runs = (await pool(DB_N, 8, async (i) => [await createDb(uids[i]!, 'mysql'), await createDb(uids[i]!, 'postgresql')])).flat();
  const secs = since(t0) / 1000;
  const ok = runs.filter((r) => r.state === 'completed').length;
  const rate = ok / secs;
  const steps = await stepSplit(redis, ctx.cluster.prefix, runs.map((r) => r.id));
  row('databases through ceod, c=8', `${round(rate, 1)} databases/s`, `${ok}/${runs.length} completed in ${round(secs, 1)} s; ratio ${round(rate / base.both.per_s)} of the native baseline`);
  row('  steps (p50 wait/work ms)', Object.entries(steps).map(([k, v]) => `${k} ${v.wait_p50}/${v.work_p50}`).join(', '), 'from the job records');

  say(`scenario 9: ${DB_LAT} database creates one at a time, POST to the completed event`);
  const lat: Record<'mysql' | 'postgresql', number[]> = { mysql: [], postgresql: [] };
  for (let i = 0; i < DB_LAT; i++) {
    const kind = i % 2 === 0 ? 'mysql' : 'postgresql';
    const r = await createDb(uids[DB_N + i]!, kind);
    if (r.state !== 'completed') throw new Error(`database create ${r.id} ended ${r.state}`);
    lat[kind].push(r.ms);
  }
  const all = [...lat.mysql, ...lat.postgresql];
  row('one database create p50 (POST to completed)', `${round(median(all), 1)} ms`, `MySQL ${round(median(lat.mysql), 1)} ms, PostgreSQL ${round(median(lat.postgresql), 1)} ms; n=${DB_LAT}`);
  results['databases'] = {
    members: DB_N,
    concurrency: 8,
    databases_per_s: round(rate, 1),
    completed: ok,
    failed: runs.length - ok,
    seconds: round(secs, 1),
    baseline_databases_per_s: round(base.both.per_s, 1),
    baseline_mysql_per_s: round(base.mysql.per_s, 1),
    baseline_postgresql_per_s: round(base.postgresql.per_s, 1),
    ratio_to_baseline: round(rate / base.both.per_s),
    steps,
    one_create_p50_ms: round(median(all), 1),
    one_create_p95_ms: round(percentile(all, 95), 1),
    one_mysql_create_p50_ms: round(median(lat.mysql), 1),
    one_postgresql_create_p50_ms: round(median(lat.postgresql), 1),
    latency_n: DB_LAT,
  };
}

async function main(): Promise<void> {
  const tStart = Date.now();
  if (!argv.includes('--keep-stack')) {
    await stopStack(STACK_DIR);
    rmSync(STACK_DIR, { recursive: true, force: true });
  }
  say(`starting the stack in ${STACK_DIR} (base port ${BASE_PORT})`);
  const info = await startStack({ dir: STACK_DIR, basePort: BASE_PORT, log: (l) => say(`  ${l}`), ...(WAIT_REPLICAS ? { redis: 'sentinel' as const } : {}) });
  const ccdir = join(info.dir, 'bench-ccache');
  mkdirSync(ccdir, { recursive: true });
  // The Kerberos library reads these from the real environment.
  process.env.KRB5_CONFIG = info.krb5.config;
  process.env.KRB5CCNAME = `DIR:${ccdir}`;
  delete process.env.KRB5_CLIENT_KTNAME;
  const tickets = new Tickets(info);
  await tickets.kinit('ctdalek', info.users.ctdalek.password);
  // Production timings (the e2e tests shorten them), logs at the default level.
  // --cpu-prof DIR: V8 CPU profiles of the ceod processes, written when they stop (for reading where their CPU goes).
  const cpuProf = flag('--cpu-prof');
  const cluster = await startCeod(info, {
    name: 'bench',
    // the hosts of docs/hosts-and-roles.md: phosphoric-acid's one worker runs admin and fs (--per-role-workers: one process per role).
    ...(PER_ROLE_WORKERS ? {} : { procs: ['api', 'admin', 'mail', 'db'] as ProcName[] }),
    ...(cpuProf ? { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${resolve(cpuProf)}`] } : {}),
    edits: {
      all: {
        // The SSE scenario watches one job with many streams of one user: lift the per-caller cap for it.
        ceod: { lock_duration_ms: 10000, stalled_interval_ms: 5000, step_backoff_ms: 500, step_backoff_max_ms: 8000, shutdown_grace_ms: 10000, sse_max_per_principal: 100000 },
        // --kadmin-per-process: the adapter as it was before the session (for a before/after figure).
        ...(argv.includes('--kadmin-per-process') ? { kerberos: { kadmin_session: 'false' } } : {}),
      },
      ...(PER_ROLE_WORKERS ? {} : { admin: { ceod: { roles: 'admin,fs' } } }),
      // Scenario 5: up to 10,000 streams on one API host, all of one caller (the per-caller cap is tested in test/e2e).
      api: { ceod: { sse_max_per_principal: 20_000, sse_max_streams: 20_000, max_connections: 25_000 } },
    },
  });
  if (cpuProf) writeFileSync(join(resolve(cpuProf), 'pids.json'), `${JSON.stringify(Object.fromEntries([...cluster.procs].map(([k, p]) => [p.pid, k])))}\n`);
  // The API serves HTTPS with the stack's own CA, as production does with the club's.
  const ca = readFileSync(info.tls.caFile);
  const agent = new https.Agent({ keepAlive: true, maxSockets: 256, ca });
  const ctx: Ctx = { info, cluster, tickets, agent, ca };
  if (!SPNEGO_EVERY_REQUEST) ctx.cookie = await sessionCookie(ctx);
  const redis = new IORedis(info.redis.url, redisAuth(info));
  const only = flag('--only')?.split(',');
  const want = (s: string) => !only || only.includes(s);
  try {
    if (want('1')) await scenarioThroughput(ctx, redis);
    if (want('2')) await scenarioLatency(ctx);
    if (want('3')) await scenarioOverhead(info, cluster.configs.admin);
    if (want('4')) await scenarioApi(ctx);
    if (want('5')) await scenarioSse(ctx, redis);
    if (want('6')) await scenarioBulk(ctx, cluster.configs.admin);
    if (want('cli')) {
      const c = await benchCli(info, cluster.url, QUICK ? 8 : 20, say);
      results['cli'] = c;
      row('ceo members get, p50 / p90 (ms)', `${c.ceo_p50_ms} / ${c.ceo_p90_ms}`, `curl --negotiate ${c.curl_p50_ms} / ${c.curl_p90_ms}; ratio ${c.ratio_p50} (goal <= 2)`);
      row('ceo start-up parts, p50 (ms)', `node -e 0 ${c.node_empty_p50_ms}, ceo --version ${c.ceo_version_p50_ms}, with a handshake ${c.ceo_handshake_p50_ms}`, `load average ${c.load_avg.join(' → ')}`);
      if (c.without_extra_ca) row('the same without NODE_EXTRA_CA_CERTS (ms)', `node -e 0 ${c.without_extra_ca.node_empty_p50_ms}, ceo --version ${c.without_extra_ca.ceo_version_p50_ms}, ceo members get ${c.without_extra_ca.ceo_p50_ms}`, `ratio to curl ${c.without_extra_ca.ratio_p50}`);
    }
    // Only with --wait-replicas (a Redis with a replica).
    if (WAIT_REPLICAS && want('8')) await scenarioWait(ctx, cluster.configs.api);
    if (want('9')) await scenarioDatabases(ctx, redis, cluster.configs.admin);
  } finally {
    agent.destroy();
    redis.disconnect();
    await cluster.stop();
    if (!argv.includes('--keep-stack-running')) await stopStack(STACK_DIR);
  }
  if (cpuProf) {
    // The profiles are written as the processes exit: the top self-time functions of each.
    const summary = summarizeProfiles(resolve(cpuProf));
    results['profile'] = summary;
    for (const [proc, top] of Object.entries(summary)) row(`profile ${proc} (self ms, top 5)`, top.slice(0, 5).map((f) => `${f.fn} ${f.self_ms}`).join(', '), `${cpuProf}/summary.json has the top 25`);
  }
  results['run'] = {
    mode: QUICK ? 'quick' : 'full',
    command: `npm run bench${argv.length ? ` -- ${argv.join(' ')}` : ''}`,
    n: N,
    seconds: round((Date.now() - tStart) / 1000, 1),
    machine: { cpus: cpus().length, cpu_model: cpus()[0]?.model, mem_gb: round(totalmem() / 2 ** 30, 1), node: process.version },
    date: new Date().toISOString(),
  };
  const flat: Record<string, unknown> = { ...results };
  // The issue's keys, spelled out.
  const c = results['create'] as any;
  const l = results['latency'] as any;
  Object.assign(flat, {
    'create.members_per_s': c?.members_per_s ?? null,
    'create.slowest_baseline_per_s': c?.slowest_baseline_per_s ?? null,
    'create.ratio_to_slowest_baseline': c?.ratio_to_slowest_baseline ?? null,
    'create.cpu_cost_ratio': c?.cpu_cost_ratio ?? null,
    'latency.create_p50_ms': l?.create_p50_ms ?? null,
    'overhead.ms_per_step': (results['overhead'] as any)?.ms_per_step ?? null,
    'api.auth_to_unauth_ratio': (results['api'] as any)?.auth_to_unauth_ratio ?? null,
    'api.spnego_every_request_ratio': (results['api'] as any)?.spnego_every_request_ratio ?? null,
    'sse.delay_p99_ms': (results['sse'] as any)?.delay_p99_ms ?? null,
    'cli.ratio_to_curl_p50': (results['cli'] as any)?.ratio_p50 ?? null,
    'wait_replicas.api_cost_p50_ms': (results['wait_replicas'] as any)?.api_post_to_202?.cost_p50_ms ?? null,
    'databases.databases_per_s': (results['databases'] as any)?.databases_per_s ?? null,
    'databases.ratio_to_baseline': (results['databases'] as any)?.ratio_to_baseline ?? null,
    'databases.one_create_p50_ms': (results['databases'] as any)?.one_create_p50_ms ?? null,
    'create.efficiency': c?.efficiency ?? null,
    'redis.calls_per_create': (results['redis'] as any)?.calls_per_create ?? null,
    'sse.delay_p99_ms_10k': (results['sse'] as any)?.delay_p99_ms_10k ?? null,
    'bulk.renew_members_per_s': (results['bulk'] as any)?.renew_members_per_s ?? null,
    'latency.create_to_direct_ratio': l?.create_to_direct_ratio ?? null,
  });
  const outFile = join(REPO_ROOT, 'bench', 'results.json');
  writeFileSync(outFile, `${JSON.stringify(flat, null, 2)}\n`);
  const w0 = Math.max(...table.map((r) => r[0].length));
  const w1 = Math.max(...table.map((r) => r[1].length));
  process.stdout.write(`\n${'what'.padEnd(w0)}  ${'figure'.padEnd(w1)}  note\n${'-'.repeat(w0 + w1 + 30)}\n`);
  for (const [a, b, n] of table) process.stdout.write(`${a.padEnd(w0)}  ${b.padEnd(w1)}  ${n}\n`);
  process.stdout.write(`\nwrote ${outFile} in ${round((Date.now() - tStart) / 1000, 1)} s\n`);
}

main().then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`[bench] failed: ${e instanceof Error ? e.stack : String(e)}\n`);
    process.exit(1);
  },
);
