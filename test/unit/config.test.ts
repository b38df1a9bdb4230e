import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, parseConfig, resolveSecrets } from '../../src/config/load';

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

describe('config: member database servers', () => {
  const mysql = '\n[mysql]\nhost = localhost\nadmin_user = ceod\npassword_file = /etc/csc/ceod-mysql.password\nhostname = coffee.csclub.uwaterloo.ca\n';
  const postgresql = '\n[postgresql]\nhost = localhost\nadmin_user = ceod\nhostname = coffee.csclub.uwaterloo.ca\n';
  // A worker-only db host: without api_listen it serves no API, so it needs no TLS files (the example's are not on this machine).
  const dbHost = example.replace('roles = admin,fs', 'roles = db').replace(/^api_listen = .*$/m, '');

  it('a host without the db role needs neither section', () => {
    const c = parseConfig(example);
    expect(c.mysql).toBeUndefined();
    expect(c.postgresql).toBeUndefined();
  });

  it('a db host needs both, and names the one missing', () => {
    expectError(dbHost, /mysql: a host with the db role needs a \[mysql\] section/);
    expectError(dbHost + mysql, /postgresql: a host with the db role needs a \[postgresql\] section/);
  });

  it('fills in ports and defaults', () => {
    const c = parseConfig(dbHost + mysql + postgresql);
    expect(c.mysql).toMatchObject({ port: 3306, timeout_ms: 10000, pool_size: 4, hostname: 'coffee.csclub.uwaterloo.ca' });
    expect(c.postgresql).toMatchObject({ port: 5432 });
  });

  it('refuses a hostname that could break a line of the info file', () => {
    expectError(dbHost + mysql.replace('hostname = coffee.csclub.uwaterloo.ca', 'hostname = a b') + postgresql, /mysql\.hostname/);
  });

  it('takes the admin password from the environment, or says which key is missing', () => {
    const raw = parseConfig(dbHost + mysql + postgresql);
    const env = { CEOD_LDAP_BIND_PASSWORD: 'x', CEOD_MAILMAN_PASSWORD: 'x', CEOD_REDIS_PASSWORD: 'x', CEOD_SECRETS_KEY: Buffer.alloc(32, 1).toString('base64'), CEOD_MYSQL_PASSWORD: 'm' };
    expect(() => resolveSecrets(raw, env)).toThrow(/postgresql\.password_file: required \(or set CEOD_POSTGRESQL_PASSWORD\)/);
    expect(resolveSecrets(raw, { ...env, CEOD_POSTGRESQL_PASSWORD: 'p' })).toMatchObject({ mysqlPassword: 'm', postgresqlPassword: 'p' });
  });
});
