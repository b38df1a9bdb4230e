import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, parseConfig } from '../../src/config/load';

const example = readFileSync(join(__dirname, '../../etc/ceod.example.ini'), 'utf8');

const expectError = (text: string, pattern: RegExp) => {
  expect(() => parseConfig(text, 'ceod.ini')).toThrow(ConfigError);
  expect(() => parseConfig(text, 'ceod.ini')).toThrow(pattern);
};

describe('config', () => {
  it('parses the shipped example', () => {
    const c = parseConfig(example);
    expect(c.ceod.roles).toEqual(['admin', 'fs']);
    expect(c.ceod.api_listen).toEqual({ host: '0.0.0.0', port: 9987 });
    expect(c.members.min_id).toBe(20001);
    expect(c.auxiliary_groups.syscom).toEqual(['office', 'staff']);
    expect(c.positions?.required).toEqual(['president', 'vice-president', 'sysadmin']);
    expect(c.shells.allowed).toContain('/bin/bash');
  });

  it('names the key of an unknown role', () => {
    expectError(example.replace('roles = admin,fs', 'roles = admin,printer'), /ceod\.roles\.1/);
  });

  it('names a missing section key', () => {
    expectError(example.replace(/^url = ldaps.*$/m, ''), /ldap\.url/);
  });

  it('refuses a reversed id range', () => {
    expectError(example.replace('max_id = 29999', 'max_id = 100'), /members\.max_id: min_id must not exceed max_id/);
  });

  it('refuses unknown keys, which are usually typos', () => {
    expectError(example.replace('[smtp]\n', '[smtp]\nprot = 25\n'), /smtp: unknown key\(s\) prot/);
  });

  it('refuses a default shell that is not allowed', () => {
    expectError(example.replace('default = /bin/bash', 'default = /bin/ksh'), /shells\.default/);
  });
});

describe('[redis] behind Sentinel', () => {
  const withRedis = (lines: string) => example.replace(/\[redis\]\n(?:[^[\n][^\n]*\n|\n)*/, `[redis]\n${lines}\n\n`);

  it('takes sentinels and a master name instead of a url', () => {
    const c = parseConfig(withRedis('sentinels = s1.example.org:26379, 10.0.0.2:26380,[::1]:26381\nsentinel_name = ceod-main\nusername = ceod'));
    expect(c.redis.url).toBeUndefined();
    expect(c.redis.sentinels).toEqual([
      { host: 's1.example.org', port: 26379 },
      { host: '10.0.0.2', port: 26380 },
      { host: '::1', port: 26381 },
    ]);
    expect(c.redis.sentinel_name).toBe('ceod-main');
    expect(c.redis.wait_replicas).toBe(0);
  });

  it('defaults the master name to ceod, and WAIT to off', () => {
    const c = parseConfig(withRedis('sentinels = s1:26379'));
    expect(c.redis.sentinel_name).toBe('ceod');
    expect(c.redis.wait_timeout_ms).toBe(1000);
  });

  it('needs a url or sentinels, not both', () => {
    expectError(withRedis('prefix = ceod'), /redis\.url: required \(or sentinels\)/);
    expectError(withRedis('url = redis://r:6379\nsentinels = s1:26379'), /redis\.sentinels: give url or sentinels, not both/);
  });

  it('refuses a sentinel without a port', () => {
    expectError(withRedis('sentinels = s1'), /redis\.sentinels\.0: must be host:port/);
  });

  it('reads wait_replicas and wait_timeout_ms', () => {
    const c = parseConfig(withRedis('url = redis://r:6379\nwait_replicas = 1\nwait_timeout_ms = 250'));
    expect(c.redis).toMatchObject({ wait_replicas: 1, wait_timeout_ms: 250 });
  });
});
