/** A real config for the test stack, adjusted per test (fast backoff, a private Redis prefix). */
import { randomBytes } from 'node:crypto';
import { loadConfig } from '../../src/config/load';
import type { Config, Role } from '../../src/config/schema';
import type { StackInfo } from '../../tools/devstack/types';

type Overrides = { ceod?: Partial<Config['ceod']>; redis?: Partial<Config['redis']>; members?: Partial<Config['members']> };

/** A fresh Redis key prefix, so each test file has its own queues and records. */
export const uniquePrefix = (name: string) => `t-${name}-${randomBytes(4).toString('hex')}`;

export function testConfig(stack: StackInfo, role: Role | 'api', overrides: Overrides = {}): Config {
  const base = loadConfig(stack.configs[role]);
  const merged = {
    ...base,
    ceod: { ...base.ceod, ...overrides.ceod },
    redis: { ...base.redis, ...overrides.redis },
    members: { ...base.members, ...overrides.members },
  };
  return Object.defineProperty(merged, 'secrets', { value: base.secrets, enumerable: false }) as Config;
}
