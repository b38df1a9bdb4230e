/**
 * The Redis connection guard: a connection ioredis left in `end` (which it
 * never leaves by itself) is connected again and logged; errors are logged,
 * not printed as unhandled, and not once per retry.
 */
import { EventEmitter } from 'node:events';
import { Writable } from 'node:stream';
import pino from 'pino';
import type { Redis } from 'ioredis';
import { guardConnection } from '../../src/store/connection-guard';

function fake() {
  const r = Object.assign(new EventEmitter(), { status: 'ready', connect: jest.fn(async () => undefined) });
  return r;
}

test("a connection in 'end' is connected again; one that is fine is left alone; none after stop", async () => {
  const lines: string[] = [];
  const log = pino({ level: 'warn' }, new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) }));
  const r = fake();
  const guard = guardConnection(r as unknown as Redis, log, 'producer', { intervalMs: 10 });
  await new Promise((res) => setTimeout(res, 50));
  expect(r.connect).not.toHaveBeenCalled();
  r.status = 'end';
  await new Promise((res) => setTimeout(res, 30));
  expect(r.connect).toHaveBeenCalled();
  expect(guard.revived).toBeGreaterThan(0);
  expect(lines.join('')).toMatch(/"connection":"producer".*Redis connection had ended; connecting it again/);
  guard.stop();
  const calls = r.connect.mock.calls.length;
  await new Promise((res) => setTimeout(res, 30));
  expect(r.connect.mock.calls.length).toBe(calls);
});

test('errors are logged at most once per quiet period', () => {
  const lines: string[] = [];
  const log = pino({ level: 'warn' }, new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) }));
  const r = fake();
  const guard = guardConnection(r as unknown as Redis, log, 'worker', { quietMs: 60_000 });
  for (let i = 0; i < 20; i++) r.emit('error', new Error('connect ECONNREFUSED 10.0.0.1:6379'));
  guard.stop();
  return new Promise<void>((res) =>
    setImmediate(() => {
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/ECONNREFUSED/);
      res();
    }),
  );
});
