/**
 * Every Lua script ceod runs in Redis, behind one object. Each lives in its own
 * file in `./lua` (copied next to the compiled code by the build) and is
 * registered with ioredis's `defineCommand`, so it is sent once per connection
 * and then called by its SHA.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Redis } from 'ioredis';

const lua = (name: string) => readFileSync(join(__dirname, 'lua', `${name}.lua`), 'utf8');

/** name → number of KEYS. */
const SCRIPTS = {
  ceodSubmit: { file: 'submit', keys: 7 },
  ceodSave: { file: 'save', keys: 5 },
  ceodRelease: { file: 'release', keys: 1 },
  ceodExtend: { file: 'extend', keys: 1 },
  ceodLowerFloor: { file: 'lower-floor', keys: 1 },
  ceodReadable: { file: 'readable', keys: 1 },
  ceodFailUnreadable: { file: 'fail-unreadable', keys: 5 },
} as const;

export type ScriptName = keyof typeof SCRIPTS;

type Arg = string | number;
/** A connection with the scripts defined on it. */
export type ScriptedRedis = Redis & { [K in ScriptName]: (...args: Arg[]) => Promise<unknown> };

const sources = new Map<ScriptName, string>();

/** Defines every script on `redis` (idempotent) and returns it, typed. */
export function withScripts(redis: Redis): ScriptedRedis {
  const r = redis as ScriptedRedis;
  for (const [name, s] of Object.entries(SCRIPTS) as [ScriptName, (typeof SCRIPTS)[ScriptName]][]) {
    if (typeof (r as unknown as Record<string, unknown>)[name] === 'function') continue;
    let source = sources.get(name);
    if (source === undefined) sources.set(name, (source = lua(s.file)));
    redis.defineCommand(name, { numberOfKeys: s.keys, lua: source });
  }
  return r;
}
