/** Where everything of a stack lives inside its directory. */
import { existsSync } from 'node:fs';
import { dirname, resolve, join } from 'node:path';

/**
 * The repository root: the nearest directory above this file holding
 * package.json (this file is tools/devstack/*.ts, dist-tools/devstack/*.js, or
 * dist-bench/tools/devstack/*.js when the benchmarks compile it).
 */
export const REPO_ROOT = (() => {
  for (let d = resolve(__dirname, '..'); d !== dirname(d); d = dirname(d)) {
    if (existsSync(join(d, 'package.json'))) return d;
  }
  return resolve(__dirname, '..', '..');
})();

/** The LDAP schema files shipped with the project. */
export const SCHEMA_DIR = join(REPO_ROOT, 'schema');

/** The paths of a stack in `dir` (made absolute). */
export function stackLayout(dir: string) {
  const root = resolve(dir);
  const p = (...parts: string[]) => join(root, ...parts);
  return {
    root,
    stackFile: p('stack.json'),
    envFile: p('env.sh'),
    runDir: p('run'),
    lockDir: p('run', 'lock'),
    leaseDir: p('run', 'leases'),
    logsDir: p('logs'),
    secretsDir: p('secrets'),
    hostsDir: p('hosts'),
    ldapDir: p('ldap'),
    slapdConf: p('ldap', 'slapd.conf'),
    ldapData: p('ldap', 'data'),
    krb5Conf: p('krb5.conf'),
    krb5Dir: p('krb5'),
    kdcConf: p('krb5', 'kdc.conf'),
    kadmAcl: p('krb5', 'kadm5.acl'),
    krb5Db: p('krb5', 'db'),
    rcacheDir: p('krb5', 'rcache'),
    serviceKeytab: p('krb5', 'ceod-service.keytab'),
    adminKeytab: p('krb5', 'ceod-admin.keytab'),
    userCcache: p('ccache-user'),
    redisDir: p('redis'),
    redisConf: p('redis', 'redis.conf'),
    // Redis behind Sentinel: the replica's dir and config, and one config per Sentinel.
    redisReplicaDir: p('redis-replica'),
    redisReplicaConf: p('redis-replica', 'redis.conf'),
    sentinelDir: p('sentinel'),
    mailmanDir: p('mailman'),
    mailmanCfg: p('mailman', 'mailman.cfg'),
    mailmanVar: p('mailman', 'var'),
    mailDir: p('mail'),
    mariadbDir: p('mariadb'),
    mariadbData: p('mariadb', 'data'),
    // In run/ (short): a unix socket path may not exceed 107 bytes.
    mariadbSocket: p('run', 'mysqld.sock'),
    // Owned by the postgres user when the stack runs as root (postgres refuses root).
    postgresDir: p('postgres'),
    postgresData: p('postgres', 'data'),
    postgresSocketDir: p('postgres', 'run'),
    postgresHba: p('postgres', 'pg_hba.conf'),
    postgresIdent: p('postgres', 'pg_ident.conf'),
    tlsDir: p('tls'),
    caKey: p('tls', 'ca.key'),
    caCert: p('tls', 'ca.crt'),
    serverKey: p('tls', 'localhost.key'),
    serverCert: p('tls', 'localhost.crt'),
    homeRoot: p('users'),
    skelDir: p('skel'),
  };
}

export type StackLayout = ReturnType<typeof stackLayout>;

/** Pid file of a process of the stack (ours, not the daemon's own). */
export function pidFile(layout: StackLayout, name: string): string {
  return join(layout.runDir, `${name}.pid`);
}

/** Log file that receives a process's stdout and stderr. */
export function logFile(layout: StackLayout, name: string): string {
  return join(layout.logsDir, `${name}.log`);
}
