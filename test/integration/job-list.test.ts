/**
 * The job index in Redis (src/store/job-index.ts): the submit script writes
 * each job to the index and its requester's in the same round trip; a listing
 * reads newest first, pages exactly at its cursor across index batches, drops
 * ids whose record expired, and the next submit trims entries older than the
 * retention horizon; an abandoned submit leaves no entry.
 */
import IORedis, { type Redis } from 'ioredis';
import type { JobRecord } from '../../src/core/model/job';
import { RedisJobStore } from '../../src/store/job-store';
import { indexMember } from '../../src/store/job-index';
import { uniquePrefix } from '../helpers/config';
import { redisAuth, testStack } from '../helpers/stack';

const stack = testStack();
const prefix = uniquePrefix('joblist');
const HOUR = 3600_000;
let redis: Redis;
let store: RedisJobStore;
let seq = 0;

function record(requester: string, createdMs: number, type = 'reset_password'): JobRecord {
  const id = `00000000-0000-4000-8000-${String(++seq).padStart(12, '0')}`;
  return { id, version: 0, type, state: 'queued', requester, createdAt: new Date(createdMs).toISOString(), payload: { uid: requester }, steps: [], phase: 'do', cursor: 0, warnings: [], undoErrors: [], undone: [] };
}

beforeAll(() => {
  redis = new IORedis(stack.redis.url, redisAuth(stack));
  store = new RedisJobStore(redis, { prefix, retentionMs: 2 * HOUR, lockTtlMs: HOUR, idempotencyTtlMs: HOUR });
});
afterAll(async () => {
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
});

test('newest first, exact pages across batches, per requester, filters', async () => {
  const now = Date.now();
  const made: JobRecord[] = [];
  // 130 jobs in 65 distinct milliseconds: pairs share a creation time, so the id breaks ties.
  for (let i = 0; i < 130; i++) {
    const r = record(i % 2 ? 'alice1' : 'bob1', now - 60_000 + Math.floor(i / 2), i % 10 === 0 ? 'delete_member' : 'reset_password');
    expect(await store.submit(r)).toEqual({ kind: 'created' });
    made.push(r);
  }
  const newestFirst = [...made].sort((a, b) => (indexMember(a) < indexMember(b) ? 1 : -1)).map((r) => r.id);
  const seen: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.list({ limit: 45, cursor });
    seen.push(...page.records.map((r) => r.id));
    cursor = page.next;
  } while (cursor);
  expect(seen).toEqual(newestFirst);

  const alice = await store.list({ requester: 'alice1', limit: 100 });
  expect(alice.records.every((r) => r.requester === 'alice1')).toBe(true);
  expect(alice.records).toHaveLength(65);
  expect(alice.next).toBeUndefined();
  expect((await store.list({ type: 'delete_member', limit: 100 })).records).toHaveLength(13);
  expect((await store.list({ sinceMs: now - 60_000 + 60, limit: 100 })).records).toHaveLength(10);
  await expect(store.list({ limit: 10, cursor: 'garbage' })).rejects.toMatchObject({ code: 'BAD_REQUEST', field: 'cursor' });
});

test('expired records leave the index when listed; old entries are trimmed at the next submit; abandon leaves none', async () => {
  const r1 = record('carol1', Date.now() - 1000);
  const r2 = record('carol1', Date.now() - 500);
  await store.submit(r1);
  await store.submit(r2);
  await redis.del(`${prefix}:job:${r1.id}`); // as if its retention ran out
  expect((await store.list({ requester: 'carol1', limit: 10 })).records.map((r) => r.id)).toEqual([r2.id]);
  expect(await redis.zrange(`${prefix}:jobs-by:carol1`, 0, -1)).toEqual([indexMember(r2)]);

  // An entry older than retention + lock TTL is trimmed by the next submit, record or not.
  const ancient = record('dave1', Date.now() - 4 * HOUR);
  await redis.zadd(`${prefix}:jobs-by:dave1`, 0, indexMember(ancient));
  await redis.zadd(`${prefix}:jobs`, 0, indexMember(ancient));
  const fresh = record('dave1', Date.now());
  await store.submit(fresh);
  expect(await redis.zrange(`${prefix}:jobs-by:dave1`, 0, -1)).toEqual([indexMember(fresh)]);
  expect(await redis.zscore(`${prefix}:jobs`, indexMember(ancient))).toBeNull();

  const dropped = record('erin1', Date.now());
  await store.submit(dropped);
  await store.abandon(dropped);
  expect(await redis.zrange(`${prefix}:jobs-by:erin1`, 0, -1)).toEqual([]);
  expect(await redis.zscore(`${prefix}:jobs`, indexMember(dropped))).toBeNull();
});
