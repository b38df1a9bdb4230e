/**
 * End-to-end harness: runs ceod's processes as a user would and talks to the
 * API with real Kerberos tickets. The process and ticket pieces live in
 * tools/devstack/ceod-cluster.ts (shared with the benchmarks).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Redis } from 'ioredis';
import { Tickets, waitFor } from '../../tools/devstack/ceod-cluster';
import type { StackInfo } from '../../tools/devstack/types';

export { MAIN, freePort, startCeod, waitFor, Tickets, type CeodCluster, type IniEdits, type ProcName } from '../../tools/devstack/ceod-cluster';

const exec = promisify(execFile);

export interface ApiResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

/** Calls the API as `as` (a kinit'ed uid), or without a ticket when `as` is null. */
export async function call<T = any>(
  cluster: { url: string },
  tickets: Tickets,
  as: string | null,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<ApiResponse<T>> {
  const h: Record<string, string> = { ...headers };
  if (as) h.authorization = `Negotiate ${await tickets.token(as)}`;
  if (body !== undefined) h['content-type'] ??= 'application/json';
  const res = await fetch(`${cluster.url}${path}`, { method, headers: h, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: res.status, headers: res.headers, body: parsed as T };
}

/** Polls a job until it finishes. */
export async function waitForJob(cluster: { url: string }, tickets: Tickets, as: string, id: string, timeoutMs = 60_000): Promise<any> {
  let last: any;
  await waitFor(
    async () => {
      last = (await call(cluster, tickets, as, 'GET', `/api/jobs/${id}`)).body;
      return ['completed', 'failed', 'rolled_back'].includes(last?.state);
    },
    timeoutMs,
    `job ${id}`,
    () => JSON.stringify(last, null, 1),
  );
  return last;
}

/** Submits as `as`, expects 202, waits; throws with the record unless the job `completed`. */
export async function runJob(cluster: { url: string }, tickets: Tickets, as: string, method: string, path: string, body?: unknown): Promise<any> {
  const res = await call(cluster, tickets, as, method, path, body);
  if (res.status !== 202) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(res.body)}`);
  const job = await waitForJob(cluster, tickets, as, res.body.id);
  if (job.state !== 'completed') throw new Error(JSON.stringify(job, null, 1));
  return job;
}

/** How many job records the cluster's Redis holds: a refused request must leave it unchanged. */
export async function jobCount(redis: Redis, cluster: { prefix: string }): Promise<number> {
  return (await redis.keys(`${cluster.prefix}:job:*`)).length;
}

export { exec };

/** Tickets for the three seeded users (ctdalek: syscom, office1: office, regular1: a member). */
export async function seedTickets(stack: StackInfo): Promise<Tickets> {
  const tickets = new Tickets(stack);
  for (const u of ['ctdalek', 'office1', 'regular1'] as const) await tickets.kinit(u, stack.users[u].password);
  return tickets;
}
