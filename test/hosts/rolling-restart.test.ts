/**
 * A rolling restart across hosts (issue 14): while a steady, bounded stream
 * of creates runs through both API hosts, each host's ceod process is stopped
 * (SIGTERM: a worker finishes or hands back its steps, an API drains) and
 * started again, one after the other. Every accepted job completes, none is
 * lost, none is duplicated, none rolls back; the whole directory is checked.
 *
 * CEOD_FAULT_SCALE=full restarts all five processes; reduced (npm test,
 * npm run test:hosts) the admin,fs worker only.
 */
import type { Redis } from 'ioredis';
import { startHostsCeod, type HostsCluster } from '../../tools/hosts/cluster';
import type { CeodProc } from '../../tools/hosts/topology';
import { checkConsistency, drain, durations, full, percentile, RUN_TAG, sleep } from '../faults/harness';
import { report } from './report';
import { HostTickets, hostsStack, outsideRedis } from './stack';
import { hostStream, jobsPerUid } from './stream';

const stack = hostsStack();
let cluster: HostsCluster;
let tickets: HostTickets;
let redis: Redis;

beforeAll(async () => {
  tickets = new HostTickets(stack);
  await tickets.kinit('ctdalek');
  // The production retry budget; a worker's SIGTERM drains its steps for up to 5 s.
  cluster = await startHostsCeod(stack.inside, stack.state, {
    name: 'rolling',
    edits: { all: { ceod: { step_backoff_ms: 500, step_backoff_max_ms: 8000, step_attempts: 10, worker_concurrency: 8 } } },
  });
  redis = outsideRedis(stack);
}, 120_000);

afterAll(async () => {
  await cluster?.stop();
  redis?.disconnect();
});

test(`rolling restart of ${full ? 'every host\'s ceod process' : 'the admin,fs worker'} mid-stream: 0 lost, 0 duplicated, every job completed`, async () => {
  const order: CeodProc[] = full ? ['phosphoric-acid/worker', 'mail/worker', 'coffee/worker', 'phosphoric-acid/api', 'coffee/api'] : ['phosphoric-acid/worker'];
  const stream = hostStream(stack, tickets, redis, cluster.prefix, 'w', { lanes: 4, maxJobs: full ? 400 : 120 });
  const restarts: Record<string, unknown>[] = [];
  const t0 = Date.now();
  try {
    await sleep(3000);
    for (const p of order) {
      const before = stream.accepted.length;
      const t1 = Date.now();
      const code = await cluster.kill(p, 'SIGTERM');
      const stopMs = Date.now() - t1;
      const t2 = Date.now();
      await cluster.start(p);
      restarts.push({ process: p, exit_code: code, stop_ms: stopMs, start_ms: Date.now() - t2, accepted_meanwhile: stream.accepted.length - before });
      await sleep(3000);
    }
  } finally {
    await stream.stop();
  }
  const streamMs = Date.now() - t0;
  const jobs = stream.accepted.map((a) => ({ ...a }));
  expect(stream.stats.fiveHundreds).toEqual([]);
  const records = await drain(redis, cluster.prefix, jobs, 240_000);
  const c = await checkConsistency(stack.outside, redis, cluster.prefix, jobs, records, { allowRolledBack: false, scenario: 'w' });
  expect(c.problems).toEqual([]);
  const perUid = await jobsPerUid(redis, cluster.prefix, `${RUN_TAG}w`);
  const duplicated = [...perUid.values()].filter((ids) => ids.length > 1).length;
  expect(duplicated).toBe(0);
  // Every process exited cleanly on SIGTERM.
  expect(restarts.map((r) => r.exit_code)).toEqual(order.map(() => 0));
  const d = durations(jobs, records);
  const rerun = jobs.filter((j) => records.get(j.id).steps.some((s: any) => s.attempts > 1)).length;
  report('rolling_restart', {
    restarts,
    jobs_accepted: jobs.length,
    by_api: stream.stats.byApi,
    completed: c.completed,
    lost: c.unfinished,
    failed: c.failed,
    rolled_back: c.rolledBack,
    duplicated,
    jobs_with_a_rerun_step: rerun,
    posts_503: stream.stats.retried503,
    posts_dropped: stream.stats.networkErrors,
    job_ms_p50: percentile(d, 50),
    job_ms_max: Math.max(...d),
    stream_ms: streamMs,
  });
  expect(c.completed).toBe(jobs.length);
}, 900_000);
