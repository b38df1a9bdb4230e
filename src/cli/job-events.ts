/**
 * Following a job's events (`GET /api/jobs/:id/events`, Server-Sent Events,
 * parsed with eventsource-parser) until its final event. A connection that
 * drops or goes quiet past the heartbeat is reopened with `Last-Event-ID`,
 * so the API resumes right after the last event seen: nothing is shown twice
 * or missed.
 */
import type { IncomingMessage } from 'node:http';
import type { CeodClient } from './client';
import { CliError, EXIT } from './errors';

/** A job event as the API streams it (docs/api.md#events). */
export interface JobEventMessage {
  id: string;
  type: string;
  data: Record<string, any>;
}

export const FINAL_EVENT_TYPES: ReadonlySet<string> = new Set(['completed', 'failed', 'rolled_back']);

export interface FollowOptions {
  /** Reconnections in a row without an event before giving up. */
  maxReconnects?: number;
  /** A connection silent this long is dead (the API sends a heartbeat every 15 s). */
  idleMs?: number;
  /** Told before each reconnection (for --debug and tests). */
  onReconnect?: (lastEventId: string | undefined, attempt: number) => void;
}

/** Orders SSE ids (`<ms>-<seq>`, the Redis Stream entry ids). */
export function eventIdAfter(a: string, b: string | undefined): boolean {
  if (b === undefined) return true;
  const [am, as] = a.split('-').map(Number) as [number, number];
  const [bm, bs] = b.split('-').map(Number) as [number, number];
  return am > bm || (am === bm && as > bs);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Calls `onEvent` for each event of the job, in order, once each; resolves with the final one. */
export async function followJobEvents(client: CeodClient, jobId: string, onEvent: (e: JobEventMessage) => void, opts: FollowOptions = {}): Promise<JobEventMessage> {
  const { createParser } = require('eventsource-parser') as typeof import('eventsource-parser');
  const maxReconnects = opts.maxReconnects ?? 8;
  const idleMs = opts.idleMs ?? 45_000;
  let last: string | undefined;
  let final: JobEventMessage | undefined;
  let quietRounds = 0;
  for (;;) {
    let res: IncomingMessage | undefined;
    let gotAny = false;
    try {
      res = await client.stream(`/api/jobs/${jobId}/events`, last);
      const parser = createParser({
        onEvent: (m) => {
          if (final || !m.id || !eventIdAfter(m.id, last)) return;
          let data: Record<string, any> = {};
          try {
            data = JSON.parse(m.data) as Record<string, any>;
          } catch {
            // a malformed data line: the event still counts
          }
          last = m.id;
          gotAny = true;
          const e = { id: m.id, type: m.event ?? 'message', data };
          onEvent(e);
          if (FINAL_EVENT_TYPES.has(e.type)) final = e;
        },
      });
      res.setEncoding('utf8');
      res.socket?.setTimeout(idleMs, () => res?.destroy(new Error('the event stream went quiet')));
      for await (const chunk of res) {
        parser.feed(chunk as string);
        if (final) break;
      }
    } catch (err) {
      // A refused request (401, 404, …) is an answer, not a dropped connection.
      if (err instanceof CliError && err.exitCode !== EXIT.failed) throw err;
    } finally {
      res?.socket?.setTimeout(0);
      if (final) res?.destroy();
    }
    if (final) return final;
    quietRounds = gotAny ? 1 : quietRounds + 1;
    if (quietRounds > maxReconnects) {
      throw new CliError(`lost the event stream of job ${jobId}; follow it with: ceo jobs watch ${jobId}`, EXIT.failed);
    }
    opts.onReconnect?.(last, quietRounds);
    await sleep(Math.min(200 * 2 ** (quietRounds - 1), 3000));
  }
}
