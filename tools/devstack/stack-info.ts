/** Builds `StackInfo` (all of it derives from the dir, the base port and the secrets) and reads stack.json back. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { stackLayout } from './layout';
import { MYSQL_ADMIN_USER } from './mariadb';
import { stackPorts } from './ports';
import { POSTGRES_ADMIN_USER } from './postgres';
import { REDIS_USER } from './redis';
import type { StackSecrets } from './secrets';
import {
  ADMIN_DN,
  ADMIN_PRINCIPAL,
  BASE_DN,
  BASE_DOMAIN,
  GROUPS_BASE,
  MAILMAN_USER,
  REALM,
  SEED_GROUPS,
  SEED_LISTS,
  SEED_LIST_POLICIES,
  SEED_USERS,
  SERVICE_PRINCIPAL,
  SUDO_BASE,
  USERS_BASE,
  groupDn,
  userDn,
} from './seed';
import { hostOf } from './placement';
import { CEOD_NAMES, type CeodName, type Placement, type ServiceName, type SeedGroupInfo, type SeedUid, type SeedUserInfo, type StackInfo } from './types';

/** What `buildStackInfo` needs besides the dir, base port and secrets (all optional: a loopback stack with one Redis). */
export interface StackShape {
  placement?: Placement;
  redis?: 'single' | 'sentinel';
  apiHosts?: string[];
}

/** The Sentinels' master name. */
export const SENTINEL_MASTER_NAME = 'ceod';
/** The ACL user clients log in to the Sentinels as. */
export const SENTINEL_USER = 'ceod-sentinel';

export function buildStackInfo(dir: string, basePort: number, secrets: StackSecrets, shape: StackShape = {}): StackInfo {
  const l = stackLayout(dir);
  const ports = stackPorts(basePort);
  const p = shape.placement;
  const host = (s: ServiceName) => hostOf(p, s);
  const sentinelPorts = [ports.sentinel1, ports.sentinel2, ports.sentinel3];
  const hostPrincipals: Record<string, { principal: string; keytab: string }> = {};
  for (const fqdn of shape.apiHosts ?? []) hostPrincipals[fqdn] = { principal: `ceod/${fqdn}`, keytab: join(l.krb5Dir, `ceod-${fqdn}.keytab`) };
  const users = {} as Record<SeedUid, SeedUserInfo>;
  for (const u of SEED_USERS) {
    users[u.uid] = {
      uid: u.uid,
      dn: userDn(u.uid),
      uidNumber: u.uidNumber,
      homeDirectory: join(l.homeRoot, u.uid),
      password: secrets.userPasswords[u.uid],
      groups: SEED_GROUPS.filter((g) => g.members.includes(u.uid)).map((g) => g.cn),
    };
  }
  const groups: Record<string, SeedGroupInfo> = {};
  for (const g of SEED_GROUPS) groups[g.cn] = { cn: g.cn, dn: groupDn(g.cn), gidNumber: g.gidNumber, members: [...g.members] };
  const configs = {} as Record<CeodName, string>;
  for (const n of CEOD_NAMES) configs[n] = join(l.hostsDir, `${n}.ini`);
  return {
    version: 1,
    dir: l.root,
    basePort,
    ports,
    realm: REALM,
    baseDomain: BASE_DOMAIN,
    ldap: {
      url: `ldap://${host('slapd')}:${ports.ldap}`,
      baseDn: BASE_DN,
      usersBase: USERS_BASE,
      groupsBase: GROUPS_BASE,
      sudoBase: SUDO_BASE,
      adminDn: ADMIN_DN,
      adminPassword: secrets.ldapAdminPassword,
      adminPasswordFile: secrets.files.ldapAdminPassword,
      configFile: l.slapdConf,
      dataDir: l.ldapData,
    },
    krb5: {
      realm: REALM,
      config: l.krb5Conf,
      kdcProfile: l.kdcConf,
      aclFile: l.kadmAcl,
      databaseDir: l.krb5Db,
      rcacheDir: l.rcacheDir,
      kdcAddress: `${host('krb5kdc')}:${ports.kdc}`,
      kadmindAddress: `${host('kadmind')}:${ports.kadmind}`,
      kpasswdAddress: `${host('kadmind')}:${ports.kpasswd}`,
      servicePrincipal: SERVICE_PRINCIPAL,
      serviceKeytab: l.serviceKeytab,
      adminPrincipal: ADMIN_PRINCIPAL,
      adminKeytab: l.adminKeytab,
      userCcache: `FILE:${l.userCcache}`,
    },
    redis: {
      url: `redis://${host('redis')}:${ports.redis}`,
      authUrl: `redis://${REDIS_USER}:${encodeURIComponent(secrets.redisPassword)}@${host('redis')}:${ports.redis}`,
      host: host('redis'),
      port: ports.redis,
      user: REDIS_USER,
      password: secrets.redisPassword,
      passwordFile: secrets.files.redisPassword,
      dir: l.redisDir,
      configFile: l.redisConf,
      ...(shape.redis === 'sentinel'
        ? {
            sentinel: {
              masterName: SENTINEL_MASTER_NAME,
              sentinels: (['sentinel-1', 'sentinel-2', 'sentinel-3'] as const).map((s, i) => ({ host: host(s), port: sentinelPorts[i]! })),
              user: SENTINEL_USER,
              password: secrets.sentinelPassword,
              passwordFile: secrets.files.sentinelPassword,
              replica: { host: host('redis-replica'), port: ports.redisReplica, configFile: l.redisReplicaConf, dir: l.redisReplicaDir },
              configFiles: [1, 2, 3].map((i) => join(l.sentinelDir, `sentinel-${i}.conf`)),
              minReplicasToWrite: 1,
            },
          }
        : {}),
    },
    mailman: {
      url: `http://${host('mailman')}:${ports.mailmanRest}/3.1`,
      user: MAILMAN_USER,
      password: secrets.mailmanPassword,
      passwordFile: secrets.files.mailmanPassword,
      configFile: l.mailmanCfg,
      varDir: l.mailmanVar,
      listDomain: BASE_DOMAIN,
      lists: [...SEED_LISTS],
      listPolicies: Object.fromEntries(SEED_LISTS.map((list) => [list, { ...SEED_LIST_POLICIES[list]! }])),
    },
    smtp: { host: host('smtp'), port: ports.smtp, mailDir: l.mailDir },
    mysql: {
      host: host('mariadb'),
      port: ports.mysql,
      adminUser: MYSQL_ADMIN_USER,
      adminPassword: secrets.mysqlAdminPassword,
      adminPasswordFile: secrets.files.mysqlAdminPassword,
      socket: l.mariadbSocket,
      dataDir: l.mariadbData,
    },
    postgres: {
      host: host('postgres'),
      port: ports.postgres,
      adminUser: POSTGRES_ADMIN_USER,
      adminPassword: secrets.postgresAdminPassword,
      adminPasswordFile: secrets.files.postgresAdminPassword,
      socketDir: l.postgresSocketDir,
      dataDir: l.postgresData,
    },
    tls: { caFile: l.caCert, certFile: l.serverCert, keyFile: l.serverKey },
    ceod: {
      url: `https://localhost:${ports.ceodApi}`,
      apiListen: `127.0.0.1:${ports.ceodApi}`,
      ...(shape.apiHosts?.length ? { hostPrincipals } : {}),
    },
    ...(p ? { placement: p } : {}),
    homeRoot: l.homeRoot,
    skelDir: l.skelDir,
    secretsKeyFile: secrets.files.secretsKey,
    users,
    groups,
    configs,
    logsDir: l.logsDir,
    envFile: l.envFile,
    stackFile: l.stackFile,
  };
}

/** Reads `DIR/stack.json`, or null if there is none. */
export function readStackInfo(dir: string): StackInfo | null {
  try {
    const info = JSON.parse(readFileSync(stackLayout(dir).stackFile, 'utf8')) as StackInfo;
    return info.version === 1 ? info : null;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}
