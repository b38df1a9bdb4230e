/**
 * The per-host ceod INI files of a stack (format: docs/config.md), one
 * per process: the API host and one worker host per role. Secrets are `_file`
 * keys naming 0600 files in DIR/secrets; the INI files themselves hold none.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { BASE_DOMAIN } from './seed';
import type { CeodName, StackInfo } from './types';

type Section = Record<string, string | number>;

/** A ceod role (docs/hosts-and-roles.md); the devstack does not import the daemon. */
type Role = 'admin' | 'fs' | 'mail' | 'db';

/** The host name and roles of each generated config. */
export const CEOD_HOSTS: Record<CeodName, { host: string; roles: Role[] }> = {
  api: { host: `api.${BASE_DOMAIN}`, roles: [] },
  admin: { host: `phosphoric-acid.${BASE_DOMAIN}`, roles: ['admin'] },
  fs: { host: `phosphoric-acid.${BASE_DOMAIN}`, roles: ['fs'] },
  mail: { host: `mail.${BASE_DOMAIN}`, roles: ['mail'] },
  db: { host: `coffee.${BASE_DOMAIN}`, roles: ['db'] },
};

function renderIni(sections: [string, Section][], header: string): string {
  const out = [header];
  for (const [name, keys] of sections) {
    out.push('', `[${name}]`);
    for (const [k, v] of Object.entries(keys)) out.push(`${k} = ${v}`);
  }
  return `${out.join('\n')}\n`;
}

/**
 * `[redis]` for a stack: its one server, or its Sentinels (with a WAIT for the
 * replica before the API answers 202, as the Sentinel setup is meant to run).
 */
export function redisSection(info: StackInfo): Section {
  const auth = { username: info.redis.user, password_file: info.redis.passwordFile };
  const s = info.redis.sentinel;
  if (!s) return { url: info.redis.url, ...auth };
  return {
    sentinels: s.sentinels.map((x) => `${x.host}:${x.port}`).join(','),
    sentinel_name: s.masterName,
    sentinel_username: s.user,
    sentinel_password_file: s.passwordFile,
    ...auth,
    wait_replicas: s.minReplicasToWrite,
    wait_timeout_ms: 1000,
  };
}

/** The INI text of the config for `name`. */
export function ceodConfigText(info: StackInfo, name: CeodName): string {
  const { host, roles } = CEOD_HOSTS[name];
  const ceod: Section = { host, roles: roles.join(','), base_domain: info.baseDomain, secrets_key_file: info.secretsKeyFile };
  // Four workers on one machine: each its own metrics port (the default, 9988, would clash).
  const metricsPort = { admin: 0, fs: 1, mail: 2, db: 3 } as Record<CeodName, number | undefined>;
  if (metricsPort[name] !== undefined) ceod.metrics_listen = `127.0.0.1:${info.ports.ceodMetrics + metricsPort[name]!}`;
  if (name === 'api') {
    ceod.api_listen = info.ceod.apiListen;
    // HTTPS with the stack's own CA (tls.ts): clients trust it through env.sh's CURL_CA_BUNDLE / NODE_EXTRA_CA_CERTS.
    ceod.tls_cert_file = info.tls.certFile;
    ceod.tls_key_file = info.tls.keyFile;
  }
  const sections: [string, Section][] = [
    ['ceod', ceod],
    [
      'ldap',
      {
        url: info.ldap.url,
        base: info.ldap.baseDn,
        users_base: info.ldap.usersBase,
        groups_base: info.ldap.groupsBase,
        sudo_base: info.ldap.sudoBase,
        // The rootdn for now; a dedicated service DN with ACLs would be the production shape.
        bind_dn: info.ldap.adminDn,
        bind_password_file: info.ldap.adminPasswordFile,
      },
    ],
    [
      'kerberos',
      {
        realm: info.realm,
        krb5_config: info.krb5.config,
        service_principal: info.krb5.servicePrincipal,
        service_keytab: info.krb5.serviceKeytab,
        admin_principal: info.krb5.adminPrincipal,
        admin_keytab: info.krb5.adminKeytab,
      },
    ],
    // The default user is off in the stack's Redis: ceod logs in as its ACL user.
    ['redis', redisSection(info)],
    ['members', { min_id: 20001, max_id: 29999, home_root: info.homeRoot, skel: info.skelDir }],
    ['clubs', { min_id: 30001, max_id: 39999, home_root: info.homeRoot }],
    [
      'shells',
      {
        allowed: '/bin/bash,/bin/sh,/bin/zsh,/usr/bin/fish',
        default: '/bin/bash',
        expired: '/usr/local/bin/expired-account',
      },
    ],
    ['smtp', { host: info.smtp.host, port: info.smtp.port, secure: 'false', from: `ceod@${info.baseDomain}` }],
    [
      'mailman',
      {
        url: info.mailman.url,
        user: info.mailman.user,
        password_file: info.mailman.passwordFile,
        list_domain: info.mailman.listDomain,
        new_member_list: 'csc-general',
      },
    ],
    ['mail', { announce_to: `ceo@${info.baseDomain}` }],
    // Every host gets both: the db worker needs them, the API checks with them before it enqueues.
    // Members connect over TCP to 127.0.0.1 (`localhost` would make the mysql client use its own socket).
    [
      'mysql',
      { host: info.mysql.host, port: info.mysql.port, admin_user: info.mysql.adminUser, password_file: info.mysql.adminPasswordFile, hostname: info.mysql.host },
    ],
    [
      'postgresql',
      { host: info.postgres.host, port: info.postgres.port, admin_user: info.postgres.adminUser, password_file: info.postgres.adminPasswordFile, hostname: info.postgres.host },
    ],
    ['auxiliary_groups', { syscom: 'office,staff', termcom: 'office' }],
    ['auxiliary_lists', { syscom: 'syscom,syscom-alerts' }],
    [
      'positions',
      {
        available: 'president,vice-president,treasurer,secretary,sysadmin,cro,librarian,imapd,webmaster,offsck',
        required: 'president,vice-president,sysadmin',
        executive: 'president,vice-president,treasurer,secretary',
      },
    ],
  ];
  return renderIni(sections, `; ceod config for ${name} (${host}) in the dev stack ${info.dir}.\n; Generated by tools/devstack/ceod-configs.ts on every start: edits are lost.`);
}

/** Writes DIR/hosts/<name>.ini for every ceod process. */
export function writeCeodConfigs(info: StackInfo, hostsDir: string): void {
  mkdirSync(hostsDir, { recursive: true });
  for (const [name, file] of Object.entries(info.configs) as [CeodName, string][]) {
    writeFileSync(file, ceodConfigText(info, name));
  }
}
