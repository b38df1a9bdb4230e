/**
 * Builds the adapters a process needs from its config. Each is made on first
 * use, so an `fs` worker never opens an LDAP connection; an adapter used by a
 * step of a role this host does not own is a bug, reported as such.
 */
import { existsSync } from 'node:fs';
import type { Config, Role } from '../config/schema';
import type { Logger } from '../log';
import { ldapFromConfig } from '../ldap';
import { kadminFromConfig } from '../krb5/kadmin';
import { createMailman, mailmanFromConfig, mailmanOptionsFromConfig } from '../mailman';
import { mailerFromConfig } from '../mail';
import { createHomeDirs } from '../homedirs';
import type { Adapters, HomeDirs, Kadmin, Ldap, Mailer, Mailman } from './adapters';

export interface BuiltAdapters extends Adapters {
  /** Home directories, if this host can see them (API hosts that mount /users). */
  readonly optionalHomeDirs?: HomeDirs;
  /**
   * Mailman for reads outside the mail role (the API checks a list exists
   * before it enqueues), with a short deadline: an unreachable Mailman must not
   * hold a request, and the mail step checks again anyway.
   */
  readonly optionalMailman?: Mailman;
  close(): Promise<void>;
}

/** Which role owns which adapter (SPEC §1). The API process reads LDAP too. */
const OWNER = { ldap: 'admin', kadmin: 'admin', homeDirs: 'fs', mailman: 'mail', mailer: 'mail' } as const;

/** Deadline of the API's own Mailman reads. */
const READ_TIMEOUT_MS = 3000;

export function buildAdapters(config: Config, roles: readonly Role[], _log: Logger): BuiltAdapters {
  const made: { ldap?: Ldap; kadmin?: Kadmin; homeDirs?: HomeDirs; mailman?: Mailman; mailer?: Mailer; readMailman?: Mailman } = {};
  const guard = (name: keyof typeof OWNER) => {
    // The API process (no roles) reads LDAP for authorization and reads.
    if (name === 'ldap' && roles.length === 0) return;
    if (!roles.includes(OWNER[name])) throw new Error(`adapter ${name} belongs to the ${OWNER[name]} role, which this host does not run`);
  };
  const adapters: BuiltAdapters = {
    get ldap() {
      guard('ldap');
      return (made.ldap ??= ldapFromConfig(config));
    },
    get kadmin() {
      guard('kadmin');
      return (made.kadmin ??= kadminFromConfig(config));
    },
    get homeDirs() {
      guard('homeDirs');
      return (made.homeDirs ??= createHomeDirs({}));
    },
    get mailman() {
      guard('mailman');
      return (made.mailman ??= mailmanFromConfig(config));
    },
    get mailer() {
      guard('mailer');
      return (made.mailer ??= mailerFromConfig(config));
    },
    get optionalHomeDirs() {
      return existsSync(config.members.home_root) ? (made.homeDirs ??= createHomeDirs({})) : undefined;
    },
    get optionalMailman() {
      return (made.readMailman ??= createMailman({ ...mailmanOptionsFromConfig(config), timeoutMs: Math.min(config.mailman.timeout_ms, READ_TIMEOUT_MS) }));
    },
    async close() {
      await Promise.allSettled([made.ldap?.close(), made.kadmin?.close(), made.mailer?.close()]);
    },
  };
  return adapters;
}

/** The servers a worker must reach before it takes steps, by a name that says where. */
export function serverChecks(config: Config, adapters: Adapters): Record<string, () => Promise<void>> {
  const roles = config.ceod.roles;
  const checks: Record<string, () => Promise<void>> = {};
  if (roles.includes('admin')) {
    checks[`LDAP at ${config.ldap.url}`] = () => adapters.ldap.ping();
    checks[`kadmind as ${config.kerberos.admin_principal}`] = () => adapters.kadmin.ping();
  }
  if (roles.includes('fs')) checks[`home directory root ${config.members.home_root}`] = () => adapters.homeDirs.ping(config.members.home_root);
  if (roles.includes('mail')) {
    checks[`Mailman REST at ${config.mailman.url}`] = () => adapters.mailman.ping();
    checks[`SMTP at ${config.smtp.host}:${config.smtp.port}`] = () => adapters.mailer.ping();
  }
  return checks;
}
