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
