/**
 * Generated secrets of a stack: created once, mode 0600 in `DIR/secrets`, and
 * reused on every later start so data and configs stay valid.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import type { StackLayout } from './layout';
import { SEED_UIDS, type SeedUid } from './types';

export interface StackSecrets {
  ldapAdminPassword: string;
  kdcMasterPassword: string;
  mailmanPassword: string;
  redisPassword: string;
  /** What clients log in to the Sentinels with (Redis behind Sentinel only). */
  sentinelPassword: string;
  mysqlAdminPassword: string;
  postgresAdminPassword: string;
  userPasswords: Record<SeedUid, string>;
  files: {
    ldapAdminPassword: string;
    kdcMasterPassword: string;
    mailmanPassword: string;
    /** The Redis ACL user ceod's password (ceod reads it through [redis] password_file). */
    redisPassword: string;
    sentinelPassword: string;
    mysqlAdminPassword: string;
    postgresAdminPassword: string;
    /** 32 random bytes, base64: ceod's key for secrets in job results. */
    secretsKey: string;
  };
}

/** A password that survives shells, INI files and kadmin prompts unquoted. */
function newPassword(): string {
  return randomBytes(18).toString('base64url');
}

/** Reads the secret in `file`, creating it with `make()` first if absent. */
function generateOnce(file: string, make: () => string): string {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const value = make();
  try {
    // 'wx': if two starters race, one wins and both read the winner's value.
    writeFileSync(file, `${value}\n`, { mode: 0o600, flag: 'wx' });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  return readFileSync(file, 'utf8').trim();
}

/** Creates the secrets that do not exist yet and returns all of them. */
export function ensureSecrets(layout: StackLayout): StackSecrets {
  mkdirSync(layout.secretsDir, { recursive: true, mode: 0o700 });
  chmodSync(layout.secretsDir, 0o700);
  const f = (name: string) => join(layout.secretsDir, name);
  const files = {
    ldapAdminPassword: f('ldap-admin-password'),
    kdcMasterPassword: f('kdc-master-password'),
    mailmanPassword: f('mailman-password'),
    redisPassword: f('redis-password'),
    sentinelPassword: f('redis-sentinel-password'),
    mysqlAdminPassword: f('mysql-admin-password'),
    postgresAdminPassword: f('postgres-admin-password'),
    secretsKey: f('secrets-key'),
  };
  generateOnce(files.secretsKey, () => randomBytes(32).toString('base64'));
  const userPasswords = {} as Record<SeedUid, string>;
  for (const uid of SEED_UIDS) userPasswords[uid] = generateOnce(f(`user-${uid}-password`), newPassword);
  return {
    ldapAdminPassword: generateOnce(files.ldapAdminPassword, newPassword),
    kdcMasterPassword: generateOnce(files.kdcMasterPassword, newPassword),
    mailmanPassword: generateOnce(files.mailmanPassword, newPassword),
    redisPassword: generateOnce(files.redisPassword, newPassword),
    sentinelPassword: generateOnce(files.sentinelPassword, newPassword),
    mysqlAdminPassword: generateOnce(files.mysqlAdminPassword, newPassword),
    postgresAdminPassword: generateOnce(files.postgresAdminPassword, newPassword),
    userPasswords,
    files,
  };
}
