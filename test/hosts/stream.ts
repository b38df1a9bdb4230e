/**
 * A steady, bounded stream of creates across the two API hosts, for the
 * multi-host fault tests: each lane posts one create (lanes alternate between
 * phosphoric-acid and coffee), waits until that job ends, then posts the next,
 * so faults land on jobs in the middle of their steps. A patient client: a
 * `503` or a dropped connection is retried with the same Idempotency-Key, on
 * the other API host after a dropped connection (the first may be the one
 * restarting). Only a `202` counts as accepted.
 */
import type { Redis } from 'ioredis';
import { createBody, FINAL_STATES, nextUid, record, sleep } from '../faults/harness';
import { type ApiHost, callApi, type HostsStack, type HostTickets } from './stack';

export interface HostAccepted {
  uid: string;
  id: string;
  scenario: string;
  acceptedAt: number;
  /** The API host that answered 202. */
  api: ApiHost;
}

export interface HostPostStats {
  posts: number;
  accepted: number;
  retried503: number;
  networkErrors: number;
  byApi: Record<ApiHost, number>;
  other: Record<number, number>;
  /** Any 5xx but 503: a bug. */
  fiveHundreds: { status: number; body: unknown }[];
  /** When each 503 or dropped post happened (ms since epoch), for the outage windows. */
  failedAt: number[];
}

export const newHostStats = (): HostPostStats => ({ posts: 0, accepted: 0, retried503: 0, networkErrors: 0, byApi: { 'phosphoric-acid': 0, coffee: 0 }, other: {}, fiveHundreds: [], failedAt: [] });

const other = (h: ApiHost): ApiHost => (h === 'phosphoric-acid' ? 'coffee' : 'phosphoric-acid');

/** Posts one create, retrying as a patient client would for up to `budgetMs`; the accepted job or null. */
export async function postCreateOnHosts(stack: HostsStack, tickets: HostTickets, first: ApiHost, uid: string, scenario: string, stats: HostPostStats, budgetMs = 120_000): Promise<HostAccepted | null> {
  const deadline = Date.now() + budgetMs;
  let api = first;
  for (;;) {
    stats.posts += 1;
    let res;
    try {
      res = await callApi(stack, tickets, api, 'ctdalek', 'POST', '/api/members', createBody(uid), { 'idempotency-key': `hosts-${uid}` }, 15_000);
    } catch {
      stats.networkErrors += 1;
      stats.failedAt.push(Date.now());
      if (Date.now() > deadline) return null;
      api = other(api);
      await sleep(200);
      continue;
    }
    if (res.status === 202) {
      stats.accepted += 1;
      stats.byApi[api] += 1;
      return { uid, id: res.body.id, scenario, acceptedAt: Date.now(), api };
    }
    if (res.status === 503) {
      stats.retried503 += 1;
      stats.failedAt.push(Date.now());
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
 * The stream: `lanes` lanes, at most `maxJobs` posts in all. By default a lane
 * waits until its job has ended before it posts the next (`lanes` jobs in
 * flight); with `paceMs` it posts the next that long after a 202, so jobs keep
 * coming while some wait (a partition).
 */
export function hostStream(stack: HostsStack, tickets: HostTickets, redis: Redis, prefix: string, scenario: string, opts: { lanes: number; maxJobs: number; jobTimeoutMs?: number; paceMs?: number }) {
  const accepted: HostAccepted[] = [];
  const stats = newHostStats();
  let running = true;
  let started = 0;
  const lanes = Array.from({ length: opts.lanes }, async (_, lane) => {
    let api: ApiHost = lane % 2 === 0 ? 'phosphoric-acid' : 'coffee';
    while (running && started < opts.maxJobs) {
      started += 1;
      const a = await postCreateOnHosts(stack, tickets, api, nextUid(scenario), scenario, stats);
      api = other(api);
      if (!a) {
        await sleep(200);
        continue;
      }
      accepted.push(a);
      if (opts.paceMs !== undefined) {
        await sleep(opts.paceMs);
        continue;
      }
      const deadline = Date.now() + (opts.jobTimeoutMs ?? 180_000);
      while (running && Date.now() < deadline && !FINAL_STATES.has((await record(redis, prefix, a.id).catch(() => null))?.state)) await sleep(100);
    }
  });
  return {
    accepted,
    stats,
    /** Stops posting; resolves once every lane has let go (jobs in flight go on). */
    async stop() {
      running = false;
      await Promise.all(lanes);
    },
    /** Resolves once the stream has posted all it may. */
    finished: () => Promise.all(lanes),
  };
}

/** Job records per uid under the prefix: a uid with two records is a duplicated job. */
export async function jobsPerUid(redis: Redis, prefix: string, uidPrefix: string): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:job:*`, 'COUNT', 500);
    cursor = next;
    for (const k of keys) {
      const raw = await redis.get(k);
      if (!raw) continue;
      const r = JSON.parse(raw) as { id: string; payload?: { uid?: string } };
      const uid = r.payload?.uid;
      if (uid?.startsWith(uidPrefix)) out.set(uid, [...(out.get(uid) ?? []), r.id]);
    }
  } while (cursor !== '0');
  return out;
}
