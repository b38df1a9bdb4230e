/**
 * A partition of the mail host (issue 14): in the middle of a stream of
 * creates, its cable is pulled at the switch (`ip link set mail down` in the
 * switch's namespace) for 20 s (CEOD_FAULT_SCALE=full; 8 s reduced), then
 * plugged back. The mail host keeps Mailman and the SMTP catcher but loses
 * Redis: its steps wait in the queue (the job records show each wait), and a
 * queue job it held when the cable went, whose lock lapsed meanwhile, is
 * handed out again by BullMQ once it is back (and finds its step recorded, or
 * runs it again as attempt 2). The other hosts go on meanwhile (admin and fs
 * steps finish during the cut). Every job completes, none rolls back.
 */
import type { Redis } from 'ioredis';
import { startHostsCeod, type HostsCluster } from '../../tools/hosts/cluster';
import { setLink } from '../../tools/hosts/netns';
import { fqdn, topology } from '../../tools/hosts/topology';
import { backoffDelay } from '../../src/workers/runner';
import { checkConsistency, drain, durations, full, percentile, RUN_TAG, sleep } from '../faults/harness';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { report } from './report';
import { HostTickets, hostsStack, outsideRedis } from './stack';
import { hostStream, jobsPerUid } from './stream';

const stack = hostsStack();
const t = topology(stack.inside.dir, stack.state.basePort);
let cluster: HostsCluster;
let tickets: HostTickets;
let redis: Redis;
const CUT_MS = full ? 20_000 : 8_000;
const BUDGET = { step_attempts: 10, step_backoff_ms: 500, step_backoff_max_ms: 8000 };

beforeAll(async () => {
  tickets = new HostTickets(stack);
  await tickets.kinit('ctdalek');
  // Production's lock and retry budget ([ceod] defaults), which must outlast the cut.
  cluster = await startHostsCeod(stack.inside, stack.state, {
    name: 'partition',
    edits: { all: { ceod: { ...BUDGET, lock_duration_ms: 10_000, stalled_interval_ms: 5000, worker_concurrency: 8 } } },
  });
  redis = outsideRedis(stack);
}, 120_000);

afterAll(async () => {
  setLink(t, 'mail', 'up'); // whatever happened
  await cluster?.stop();
  redis?.disconnect();
});

test(`the retry budget outlasts the ${CUT_MS / 1000} s cut`, () => {
  // The shortest the budget can be: every backoff at its low end (equal jitter: half of it).
  let least = 0;
  for (let made = 1; made < BUDGET.step_attempts; made++) least += backoffDelay(made, BUDGET.step_backoff_ms, BUDGET.step_backoff_max_ms, () => 0);
  expect(least).toBeGreaterThan(CUT_MS);
});

test(`the mail host cut off for ${CUT_MS / 1000} s mid-stream: mail steps wait, lapsed ones are handed out again, the others go on, every job completes, none rolls back`, async () => {
  // Paced, not waiting for each job to end: new jobs keep coming while the mail steps wait.
  const stream = hostStream(stack, tickets, redis, cluster.prefix, 'p', { lanes: 2, maxJobs: full ? 200 : 80, paceMs: 1000 });
  let cutAt = 0;
  let backAt = 0;
  try {
    await sleep(4000);
    // Aimed at a moment the mail worker has steps in hand (its queue's active list), so some are cut mid-step.
    const aimUntil = Date.now() + 10_000;
    while (Date.now() < aimUntil && (await redis.llen(`${cluster.prefix}:ceod-mail:active`)) === 0) await sleep(2);
    cutAt = Date.now();
    setLink(t, 'mail', 'down');
    await sleep(CUT_MS);
    setLink(t, 'mail', 'up');
    backAt = Date.now();
    await sleep(5000);
  } finally {
    setLink(t, 'mail', 'up');
    await stream.stop();
  }
  const jobs = stream.accepted;
  expect(stream.stats.fiveHundreds).toEqual([]);
  const records = await drain(redis, cluster.prefix, jobs, 240_000);
  const c = await checkConsistency(stack.outside, redis, cluster.prefix, jobs, records, { allowRolledBack: false, scenario: 'p' });
  expect(c.problems).toEqual([]);
  expect(c.completed).toBe(jobs.length);
  const perUid = await jobsPerUid(redis, cluster.prefix, `${RUN_TAG}p`);
  expect([...perUid.values()].filter((ids) => ids.length > 1)).toEqual([]);

  const steps = jobs.flatMap((j) => (records.get(j.id).steps as any[]).map((s) => ({ ...s, job: j })));
  const mailSteps = steps.filter((s) => s.host === fqdn('mail'));
  const at = (iso?: string) => (iso ? Date.parse(iso) : NaN);
  // The others went on: admin and fs steps finished on phosphoric-acid while the mail host was cut off.
  const goneOn = steps.filter((s) => s.host === fqdn('phosphoric-acid') && at(s.finishedAt) > cutAt && at(s.finishedAt) < backAt).length;
  expect(goneOn).toBeGreaterThan(0);
  // Mail steps that waited the cut out: queued before the link came back, started after.
  const waited = mailSteps.filter((s) => at(s.queuedAt) < backAt && at(s.startedAt) >= backAt - 1000);
  const retried = mailSteps.filter((s) => s.attempts > 1);
  // In hand when the cable went: started before the cut, finished after it.
  const inHand = mailSteps.filter((s) => at(s.startedAt) < cutAt && at(s.finishedAt) > cutAt);
  // BullMQ's side: mail queue jobs started more than once (their lock lapsed during the cut and the stalled check handed them out again).
  const redelivered = (
    await Promise.all(
      jobs.map(async (j) => {
        const keys = await redis.keys(`${cluster.prefix}:ceod-mail:${j.id}-do*`);
        const started = await Promise.all(keys.map(async (k) => Number((await redis.hget(k, 'ats')) ?? 0)));
        return started.filter((n) => n > 1).length;
      }),
    )
  ).reduce((a, b) => a + b, 0);
  // The record shows it: mail steps waiting across the cut, in hand across it, or run again once back.
  expect(waited.length + inHand.length + retried.length).toBeGreaterThan(0);
  const events = await Promise.all(jobs.filter((j) => records.get(j.id).steps.some((s: any) => s.host === fqdn('mail') && s.attempts > 1)).map((j) => redis.xrange(`${cluster.prefix}:events:${j.id}`, '-', '+')));
  const retryEvents = events.flat().filter(([, fields]) => fields.some((f) => /step_retrying|step_started/.test(f))).length;
  const d = durations(jobs, records);
  // At-least-once mail: a welcome mail sent, its step then cut off before it was recorded, is sent again.
  const welcomes = await welcomeMailsPerJob(new Set(jobs.map((j) => j.id)));
  report('partition', {
    cut_ms: CUT_MS,
    jobs_accepted: jobs.length,
    accepted_during_cut: jobs.filter((j) => j.acceptedAt > cutAt && j.acceptedAt < backAt).length,
    completed: c.completed,
    lost: c.unfinished,
    failed: c.failed,
    rolled_back: c.rolledBack,
    duplicated: 0,
    phosphoric_acid_steps_finished_during_cut: goneOn,
    mail_steps_waited_out_the_cut: waited.length,
    mail_steps_in_hand_at_the_cut: inHand.length,
    mail_steps_retried: retried.length,
    mail_queue_jobs_redelivered: redelivered,
    mail_step_max_attempts: Math.max(0, ...mailSteps.map((s) => s.attempts)),
    step_events_of_retried_jobs: retryEvents,
    mail_step_max_queue_wait_ms: Math.max(0, ...mailSteps.map((s) => at(s.startedAt) - at(s.queuedAt)).filter((n) => !Number.isNaN(n))),
    job_ms_p50: percentile(d, 50),
    job_ms_max: Math.max(...d),
    jobs_with_two_welcome_mails: [...welcomes.values()].filter((n) => n > 1).length,
    posts_503: stream.stats.retried503,
    posts_dropped: stream.stats.networkErrors,
  });
}, 900_000);

/** Welcome mails caught per job (their Message-ID is `<job id>.welcome@…`). */
async function welcomeMailsPerJob(ids: Set<string>): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const dir = stack.inside.smtp.mailDir;
  for (const f of await readdir(dir)) {
    const m = /^Message-ID: <([^.>]+)\.welcome@/m.exec(await readFile(join(dir, f), 'utf8'));
    if (m && ids.has(m[1]!)) out.set(m[1]!, (out.get(m[1]!) ?? 0) + 1);
  }
  return out;
}
