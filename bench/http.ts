/**
 * A small HTTP client for the benchmarks: keep-alive requests, SSE streams,
 * and a bounded load loop. Only ever aimed at 127.0.0.1 / localhost.
 */
import type http from 'node:http';
import https from 'node:https';
import { readFileSync } from 'node:fs';

export interface Res {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: any;
}

function checkLocal(url: URL): void {
  if (url.hostname !== 'localhost' && url.hostname !== '127.0.0.1') throw new Error(`bench requests go to loopback only, not ${url.hostname}`);
}

export function request(agent: https.Agent, base: string, method: string, path: string, headers: Record<string, string> = {}, body?: unknown): Promise<Res> {
  const url = new URL(path, base);
  checkLocal(url);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const h: Record<string, string | number> = { ...headers };
  if (payload !== undefined) {
    h['content-type'] = 'application/json';
    h['content-length'] = Buffer.byteLength(payload);
  }
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method, headers: h, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: unknown = text;
        try {
          parsed = JSON.parse(text);
        } catch {
          // not JSON
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: parsed });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(payload);
  });
}

export interface SseEvent {
  id?: string;
  event: string;
  data: any;
  /** Date.now() when the event arrived. */
  at: number;
}

const FINAL = new Set(['completed', 'failed', 'rolled_back']);

/**
 * Opens an SSE stream and resolves with every event once a final one arrives
 * (or rejects on a non-200). `onOpen` fires when the response headers arrive.
 */
export function sse(agent: https.Agent, base: string, path: string, headers: Record<string, string>, onOpen?: () => void, onEvent?: (e: SseEvent) => void): Promise<SseEvent[]> {
  const url = new URL(path, base);
  checkLocal(url);
  return new Promise((resolve, reject) => {
    const req = https.get(url, { headers: { ...headers, accept: 'text/event-stream' }, agent }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        reject(new Error(`SSE ${path}: HTTP ${res.statusCode}`));
        return;
      }
      onOpen?.();
      const events: SseEvent[] = [];
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buf += chunk;
        let i: number;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const e: SseEvent = { event: 'message', data: undefined, at: Date.now() };
          const data: string[] = [];
          for (const line of block.split('\n')) {
            if (line.startsWith('event:')) e.event = line.slice(6).trim();
            else if (line.startsWith('id:')) e.id = line.slice(3).trim();
            else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
          }
          if (data.length === 0) continue; // heartbeat / comment
          try {
            e.data = JSON.parse(data.join('\n'));
          } catch {
            e.data = data.join('\n');
          }
          events.push(e);
          onEvent?.(e);
          if (FINAL.has(e.event)) {
            req.destroy();
            resolve(events);
            return;
          }
        }
      });
      res.on('end', () => resolve(events));
      res.on('error', reject);
    });
    req.on('error', (e) => reject(e));
  });
}

/** Runs `n` tasks with at most `concurrency` at once; resolves with their results in order. */
export async function pool<T>(n: number, concurrency: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(n);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, n) }, async () => {
      while (next < n) {
        const i = next++;
        out[i] = await task(i);
      }
    }),
  );
  return out;
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const idx = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1));
  return s[idx]!;
}

export const median = (v: number[]): number => percentile(v, 50);

/** What a lean watcher saw: each event's id and when it arrived (Date.now()). */
export interface Watched {
  ids: string[];
  arrivals: number[];
}

/**
 * A lean SSE watcher for thousands of streams in one process: it keeps only
 * each event's id and arrival time (the event data is read once, elsewhere),
 * and resolves after a final event. `onOpen` fires with the response headers.
 */
export function watch(agent: https.Agent, base: string, path: string, headers: Record<string, string>, onOpen?: () => void): Promise<Watched> {
  const url = new URL(path, base);
  checkLocal(url);
  return new Promise((resolve, reject) => {
    const req = https.get(url, { headers: { ...headers, accept: 'text/event-stream' }, agent }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        reject(new Error(`SSE ${path}: HTTP ${res.statusCode}`));
        return;
      }
      onOpen?.();
      const seen: Watched = { ids: [], arrivals: [] };
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        const now = Date.now();
        buf += chunk;
        let i: number;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const id = /(?:^|\n)id: ?([^\n]*)/.exec(block)?.[1];
          if (id === undefined) continue; // heartbeat / comment
          seen.ids.push(id);
          seen.arrivals.push(now);
          const type = /(?:^|\n)event: ?([^\n]*)/.exec(block)?.[1];
          if (type && FINAL.has(type)) {
            req.destroy();
            resolve(seen);
            return;
          }
        }
      });
      res.on('end', () => resolve(seen));
      res.on('error', reject);
    });
    req.on('error', (e) => reject(e));
  });
}

/** The soft limit on open files of this process (Linux), or Infinity if unknown. */
export function openFileLimit(): number {
  try {
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    return m && m[1] !== 'unlimited' ? Number(m[1]) : Infinity;
  } catch {
    return Infinity;
  }
}
