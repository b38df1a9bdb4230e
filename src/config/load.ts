/** Reads a host's INI file, validates it, resolves its secrets and freezes it. */
import { readFileSync } from 'node:fs';
import { parse as parseIni } from 'ini';
import type { z } from 'zod';
import { configSchema, SECRET_ENV, type Config, type RawConfig, type Secrets } from './schema';

/** A config that cannot be used; the message names the key (`section.key`). */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

function describeIssues(issues: z.core.$ZodIssue[], file: string): string {
  return issues
    .map((i) => {
      const key = i.path.map(String).join('.') || '(top level)';
      const msg = i.code === 'unrecognized_keys' ? `unknown key(s) ${i.keys.join(', ')}` : i.message;
      return `${file}: ${key}: ${msg}`;
    })
    .join('\n');
}

/** Parses INI text into a validated config without secrets (pure: no I/O). */
export function parseConfig(text: string, file = 'config'): RawConfig {
  let raw: unknown;
  try {
    raw = parseIni(text);
  } catch (e) {
    throw new ConfigError(`${file}: not valid INI: ${(e as Error).message}`);
  }
  const result = configSchema.safeParse(raw);
  if (!result.success) throw new ConfigError(describeIssues(result.error.issues, file));
  return result.data;
}

function readSecret(key: string, envName: string, file: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  const fromEnv = env[envName];
  if (fromEnv) return fromEnv;
  if (!file) return undefined;
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (e) {
    throw new ConfigError(`${key}: cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
  }
}

/** Resolves the secrets a config names, from the environment first, then files. */
export function resolveSecrets(c: RawConfig, env: NodeJS.ProcessEnv = process.env): Secrets {
  const ldapBindPassword = readSecret('ldap.bind_password_file', SECRET_ENV.ldapBindPassword, c.ldap.bind_password_file, env);
  if (!ldapBindPassword) throw new ConfigError(`ldap.bind_password_file: required (or set ${SECRET_ENV.ldapBindPassword})`);
  const mailmanPassword = readSecret('mailman.password_file', SECRET_ENV.mailmanPassword, c.mailman.password_file, env);
  if (!mailmanPassword) throw new ConfigError(`mailman.password_file: required (or set ${SECRET_ENV.mailmanPassword})`);
  const redisPassword = readSecret('redis.password_file', SECRET_ENV.redisPassword, c.redis.password_file, env);
  const sentinelPassword = readSecret('redis.sentinel_password_file', SECRET_ENV.sentinelPassword, c.redis.sentinel_password_file, env);
  const keyText = readSecret('ceod.secrets_key_file', SECRET_ENV.secretsKey, c.ceod.secrets_key_file, env);
  const secretsKey = Buffer.from(keyText ?? '', 'base64');
  if (secretsKey.length !== 32) {
    throw new ConfigError('ceod.secrets_key_file: must hold 32 bytes, base64-encoded (openssl rand -base64 32)');
  }
  const secrets: Secrets = { ldapBindPassword, mailmanPassword, redisPassword, ...(sentinelPassword ? { sentinelPassword } : {}), secretsKey, ...tlsFiles(c) };
  // Each database section needs its admin's password; without the section, none is read.
  for (const [section, key] of [
    ['mysql', 'mysqlPassword'],
    ['postgresql', 'postgresqlPassword'],
  ] as const) {
    const server = c[section];
    if (!server) continue;
    const value = readSecret(`${section}.password_file`, SECRET_ENV[key], server.password_file, env);
    if (!value) throw new ConfigError(`${section}.password_file: required (or set ${SECRET_ENV[key]})`);
    secrets[key] = value;
  }
  return secrets;
}

/**
 * The API's certificate and key, read at start on a host that serves the API
 * with `tls = on`: a missing key or an unreadable file fails the start naming it.
 */
function tlsFiles(c: RawConfig): Pick<Secrets, 'tls'> {
  if (!c.ceod.api_listen || c.ceod.tls === 'off') return {};
  const read = (key: 'tls_cert_file' | 'tls_key_file'): Buffer => {
    const file = c.ceod[key];
    if (!file) throw new ConfigError(`ceod.${key}: required to serve the API over HTTPS (or set ceod.tls = off, for development only)`);
    try {
      return readFileSync(file);
    } catch (e) {
      throw new ConfigError(`ceod.${key}: cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
    }
  };
  const cert = read('tls_cert_file');
  const key = read('tls_key_file');
  if (!cert.includes('-----BEGIN CERTIFICATE-----')) throw new ConfigError(`ceod.tls_cert_file: ${c.ceod.tls_cert_file} holds no PEM certificate`);
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(key.toString('utf8'))) throw new ConfigError(`ceod.tls_key_file: ${c.ceod.tls_key_file} holds no PEM private key`);
  return { tls: { cert, key } };
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Buffer.isBuffer(o)) {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

/** Loads the config file at `path`: parse, validate, resolve secrets, freeze. */
export function loadConfig(path: string, env: NodeJS.ProcessEnv = process.env): Config {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(`${path}: cannot read config: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  const raw = parseConfig(text, path);
  const secrets = resolveSecrets(raw, env);
  // Non-enumerable, so logging or serializing the config never shows a secret.
  const config = Object.defineProperty({ ...raw }, 'secrets', { value: secrets, enumerable: false }) as Config;
  return deepFreeze(config);
}
