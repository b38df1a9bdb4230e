/**
 * The test stack itself: every server answers as the generated configs and
 * env.sh say, with the seed in place, the databases' admin users log in, the
 * dev CA's certificate verifies, Redis admits only its ACL user, and one
 * server can be taken down and brought back.
 */
import { execFile } from 'node:child_process';
import { X509Certificate, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import IORedis from 'ioredis';
import { Client } from 'ldapts';
import nodemailer from 'nodemailer';
import { loadConfig, parseConfig } from '../../src/config/load';
import { stackStatus } from '../../tools/devstack';
import { redisAuth, startService, stopService, testStack } from '../helpers/stack';

const stack = testStack();

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, stdin = ''): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(cmd, args, { env, timeout: 20000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
    // A client that exits before reading its stdin (e.g. kinit refusing at once) must
    // fail the test with its own stderr, not with EPIPE from this write.
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(stdin);
  });
}

/** An environment for Kerberos clients with a private ccache and nothing inherited that could log us in. */
function krbEnv(ccacheDir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, KRB5_CONFIG: stack.krb5.config, KRB5CCNAME: `FILE:${join(ccacheDir, 'cc')}` };
  delete env.KRB5_CLIENT_KTNAME;
  delete env.KRB5_KTNAME;
  return env;
}

/** `cmd` run by bash after sourcing env.sh, as a developer's shell would; nothing inherited that env.sh should provide. */
function withEnvSh(cmd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: tmp, LANG: 'C.UTF-8' };
  return run('bash', ['-c', `. '${stack.envFile}' && ${cmd}`], env);
}

const mailmanAuth = `Basic ${Buffer.from(`${stack.mailman.user}:${stack.mailman.password}`).toString('base64')}`;

async function mailmanVersions(): Promise<number> {
  try {
    const res = await fetch(`${stack.mailman.url}/system/versions`, { headers: { authorization: mailmanAuth }, signal: AbortSignal.timeout(3000) });
    return res.status;
  } catch {
    return 0; // connection refused
  }
}

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'devstack-test-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('generated ceod configs', () => {
  const expected = { api: [], admin: ['admin'], fs: ['fs'], mail: ['mail'], db: ['db'] } as const;

  it.each(Object.keys(expected) as (keyof typeof expected)[])('%s.ini loads, with its secrets from files', (name) => {
    // An empty environment: the secrets must come from the _file keys.
    const config = loadConfig(stack.configs[name], {});
    expect(config.ceod.roles).toEqual(expected[name]);
    expect(config.ldap.url).toBe(stack.ldap.url);
    expect(config.kerberos.service_keytab).toBe(stack.krb5.serviceKeytab);
    expect(config.kerberos.admin_keytab).toBe(stack.krb5.adminKeytab);
    expect(config.members).toMatchObject({ min_id: 20001, max_id: 29999, home_root: stack.homeRoot });
    expect(config.mailman.url).toBe(stack.mailman.url);
    expect(config.smtp.port).toBe(stack.smtp.port);
    expect(config.auxiliary_groups.syscom).toEqual(['office', 'staff']);
    expect(config.positions?.required).toEqual(['president', 'vice-president', 'sysadmin']);
    expect(config.secrets.ldapBindPassword).toBe(stack.ldap.adminPassword);
    expect(config.secrets.mailmanPassword).toBe(stack.mailman.password);
    expect(config.secrets.secretsKey).toHaveLength(32);
    expect(config.redis).toMatchObject({ url: stack.redis.url, username: 'ceod', password_file: stack.redis.passwordFile });
    expect(config.secrets.redisPassword).toBe(stack.redis.password);
    if (name === 'api') expect(config.ceod.api_listen).toEqual({ host: '127.0.0.1', port: stack.ports.ceodApi });
  });

  it('gives each host its own name and keeps secrets out of the files', () => {
    const hosts = Object.values(stack.configs).map((f) => parseConfig(readFileSync(f, 'utf8'), f).ceod.host);
    expect(new Set(hosts)).toEqual(new Set(['api.csclub.internal', 'phosphoric-acid.csclub.internal', 'mail.csclub.internal', 'coffee.csclub.internal']));
    for (const f of Object.values(stack.configs)) {
      const text = readFileSync(f, 'utf8');
      expect(text).not.toContain(stack.ldap.adminPassword);
      expect(text).not.toContain(stack.mailman.password);
      expect(text).not.toContain(stack.redis.password);
    }
    for (const f of [stack.ldap.adminPasswordFile, stack.secretsKeyFile, stack.redis.passwordFile, stack.mysql.adminPasswordFile, stack.postgres.adminPasswordFile, stack.redis.configFile]) {
      expect([f, statSync(f).mode & 0o077]).toEqual([f, 0]);
    }
    expect(readFileSync(stack.redis.configFile, 'utf8')).not.toContain(stack.redis.password);
    expect(stack.redis.url).toBe(`redis://127.0.0.1:${stack.ports.redis}`);
  });

  it('env.sh points clients at localhost for SPNEGO and at the stack', () => {
    const env = readFileSync(stack.envFile, 'utf8');
    expect(env).toContain(`export CEOD_URL='https://localhost:${stack.ports.ceodApi}'`);
    expect(env).toContain(`export LDAPURI='${stack.ldap.url}'`);
    expect(env).toContain(`export REDIS_URL='redis://ceod:${stack.redis.password}@127.0.0.1:${stack.ports.redis}'`);
    expect(env).toContain(`export MYSQL_PORT='${stack.ports.mysql}'`);
    expect(env).toContain(`export PGPORT='${stack.ports.postgres}'`);
    expect(env).toContain(`export CURL_CA_BUNDLE='${stack.tls.caFile}'`);
    expect(env).toContain(`export NODE_EXTRA_CA_CERTS='${stack.tls.caFile}'`);
    expect(env).not.toMatch(/KRB5_CLIENT_KTNAME|LDAPBINDDN/);
    expect(statSync(stack.envFile).mode & 0o077).toBe(0);
  });
});

describe('slapd', () => {
  let client: Client;
  beforeAll(() => {
    client = new Client({ url: stack.ldap.url, timeout: 5000 });
  });
  afterAll(() => client.unbind());

  it('serves ctdalek anonymously, as a member with a personal group', async () => {
    const { searchEntries } = await client.search(stack.ldap.baseDn, { filter: '(uid=ctdalek)' });
    expect(searchEntries).toHaveLength(1);
    const e = searchEntries[0];
    expect(e.dn).toBe(stack.users.ctdalek.dn);
    expect(e.objectClass).toEqual(expect.arrayContaining(['account', 'posixAccount', 'shadowAccount', 'member']));
    expect(e.uidNumber).toBe('20001');
    expect(e.homeDirectory).toBe(join(stack.homeRoot, 'ctdalek'));
    const personal = await client.search(stack.ldap.groupsBase, { filter: '(cn=ctdalek)' });
    expect(personal.searchEntries[0]?.gidNumber).toBe('20001');
  });

  it('has group syscom with ctdalek as uniqueMember', async () => {
    const { searchEntries } = await client.search(stack.ldap.groupsBase, { filter: '(cn=syscom)' });
    expect(searchEntries).toHaveLength(1);
    expect(searchEntries[0].objectClass).toEqual(expect.arrayContaining(['posixGroup', 'group']));
    expect([searchEntries[0].uniqueMember].flat()).toContain(stack.users.ctdalek.dn);
  });

  it('refuses a second account with a uid number in use (unique overlay)', async () => {
    const uid = `devstack-dup-${randomBytes(3).toString('hex')}`;
    const dn = `uid=${uid},${stack.ldap.usersBase}`;
    await client.bind(stack.ldap.adminDn, stack.ldap.adminPassword);
    try {
      await expect(
        client.add(dn, {
          objectClass: ['account', 'posixAccount', 'member'],
          uid,
          cn: uid,
          uidNumber: String(stack.users.ctdalek.uidNumber),
          gidNumber: '20001',
          homeDirectory: `/nonexistent/${uid}`,
        }),
      ).rejects.toMatchObject({ code: 19 }); // constraintViolation
    } finally {
      await client.del(dn).catch(() => undefined);
    }
  });
});

describe('kerberos', () => {
  it("kinit ctdalek works with CTDALEK's password", async () => {
    const env = krbEnv(tmp);
    const kinit = await run('kinit', ['ctdalek'], env, `${stack.users.ctdalek.password}\n`);
    expect(kinit.stderr).toBe('');
    expect(kinit.code).toBe(0);
    const klist = await run('klist', [], env);
    expect(klist.stdout).toContain(`Default principal: ctdalek@${stack.realm}`);
  });

  it('kadmin with the admin keytab can getprinc', async () => {
    const res = await run('kadmin', ['-k', '-t', stack.krb5.adminKeytab, '-p', stack.krb5.adminPrincipal, '-q', 'getprinc ctdalek'], krbEnv(tmp));
    expect(res.code).toBe(0);
    expect(res.stdout).toContain(`Principal: ctdalek@${stack.realm}`);
  });
});

describe('mailman', () => {
  it('has the lists csc-general and ceo', async () => {
    const res = await fetch(`${stack.mailman.url}/lists`, { headers: { authorization: mailmanAuth } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { entries?: { fqdn_listname: string }[] };
    const lists = (body.entries ?? []).map((l) => l.fqdn_listname);
    expect(lists).toEqual(expect.arrayContaining(['csc-general@csclub.internal', 'ceo@csclub.internal', 'syscom@csclub.internal', 'syscom-alerts@csclub.internal']));
  });

  it('has syscom moderated and unadvertised, csc-general open and advertised, as stack.json says', async () => {
    expect(stack.mailman.listPolicies.syscom).toEqual({ subscription_policy: 'moderate', advertised: false });
    expect(stack.mailman.listPolicies['csc-general']).toEqual({ subscription_policy: 'confirm', advertised: true });
    for (const list of stack.mailman.lists) {
      const res = await fetch(`${stack.mailman.url}/lists/${list}.${stack.mailman.listDomain}/config`, { headers: { authorization: mailmanAuth } });
      const config = (await res.json()) as { subscription_policy: string; advertised: boolean };
      expect([list, { subscription_policy: config.subscription_policy, advertised: config.advertised }]).toEqual([list, stack.mailman.listPolicies[list]]);
    }
  });
});

describe('SMTP catcher', () => {
  it('writes a received message as one .eml file', async () => {
    const subject = `devstack test ${randomBytes(6).toString('hex')}`;
    const transport = nodemailer.createTransport({ host: stack.smtp.host, port: stack.smtp.port, secure: false, ignoreTLS: true });
    try {
      await transport.sendMail({ from: 'ceod@csclub.internal', to: 'regular1@csclub.internal', subject, text: 'hello from the devstack test' });
    } finally {
      transport.close();
    }
    const found = readdirSync(stack.smtp.mailDir)
      .filter((f) => /^\d{13}-[0-9a-f]+\.eml$/.test(f))
      .map((f) => readFileSync(join(stack.smtp.mailDir, f), 'utf8'))
      .filter((text) => text.includes(subject));
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(/^To: regular1@csclub\.internal/m);
    expect(found[0]).toContain('hello from the devstack test');
  });

  it('refuses smtp-refuse* recipients with 550', async () => {
    const transport = nodemailer.createTransport({ host: stack.smtp.host, port: stack.smtp.port, secure: false, ignoreTLS: true });
    try {
      await expect(transport.sendMail({ from: 'ceod@csclub.internal', to: 'smtp-refuse@csclub.internal', text: 'x' })).rejects.toMatchObject({ responseCode: 550 });
    } finally {
      transport.close();
    }
  });
});

describe('redis', () => {
  const tryAs = async (opts: { username?: string; password?: string }): Promise<string> => {
    const redis = new IORedis(stack.redis.url, { ...opts, lazyConnect: true, enableReadyCheck: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
    // A refused AUTH comes as an 'error' event; the command then fails with "Connection is closed".
    const errors: string[] = [];
    redis.on('error', (e: Error) => errors.push(e.message));
    try {
      await redis.connect();
      return await redis.ping();
    } catch (e) {
      return [...errors, (e as Error).message].join('; ');
    } finally {
      redis.disconnect();
    }
  };

  it('refuses a client without a password or with a wrong one, and admits the ceod user', async () => {
    expect(await tryAs({})).toMatch(/NOAUTH/);
    expect(await tryAs({ password: stack.redis.password })).toMatch(/WRONGPASS/); // as the default user, which is off
    expect(await tryAs({ username: 'ceod', password: 'not-the-password' })).toMatch(/WRONGPASS/);
    expect(await tryAs(redisAuth(stack))).toBe('PONG');
  });

  it("env.sh's REDIS_URL works for redis-cli as it is", async () => {
    const res = await withEnvSh('redis-cli --no-auth-warning -u "$REDIS_URL" ping');
    expect(res.stdout.trim()).toBe('PONG');
    const anon = await withEnvSh(`redis-cli -p ${stack.ports.redis} ping`);
    expect(anon.stdout).toMatch(/NOAUTH/);
  });

  it('is configured for BullMQ: noeviction, AOF', async () => {
    const redis = new IORedis(stack.redis.url, { ...redisAuth(stack), lazyConnect: true, maxRetriesPerRequest: 1 });
    try {
      await redis.connect();
      expect(await redis.ping()).toBe('PONG');
      expect(await redis.config('GET', 'maxmemory-policy')).toEqual(['maxmemory-policy', 'noeviction']);
      expect(await redis.config('GET', 'appendonly')).toEqual(['appendonly', 'yes']);
      expect(await redis.config('GET', 'appendfsync')).toEqual(['appendfsync', 'everysec']);
    } finally {
      redis.disconnect();
    }
  });
});

describe('mariadb', () => {
  const mysql = (sql: string) => withEnvSh(`mysql -h "$MYSQL_HOST" -P "$MYSQL_PORT" -u "$MYSQL_ADMIN_USER" -p"$MYSQL_ADMIN_PASSWORD" -N -B -e "${sql}"`);

  it("the admin logs in with env.sh's variables", async () => {
    const res = await mysql('select current_user()');
    expect(res.stderr).toBe('');
    expect(res.stdout.trim()).toBe(`${stack.mysql.adminUser}@127.0.0.1`);
  });

  it('the admin creates a database and a user, grants on it, and drops both', async () => {
    const name = `t_${randomBytes(4).toString('hex')}`;
    const res = await mysql(
      `create database ${name}; create user '${name}'@'127.0.0.1' identified by 'pw-${name}'; grant all on ${name}.* to '${name}'@'127.0.0.1'; show grants for '${name}'@'127.0.0.1'; drop user '${name}'@'127.0.0.1'; drop database ${name};`,
    );
    expect(res.stderr).toBe('');
    expect(res.stdout).toContain(`GRANT ALL PRIVILEGES ON \`${name}\`.* TO \`${name}\`@\`127.0.0.1\``);
  });

  it('refuses a wrong password', async () => {
    const res = await withEnvSh(`mysql -h "$MYSQL_HOST" -P "$MYSQL_PORT" -u "$MYSQL_ADMIN_USER" -pwrong -e 'select 1'`);
    expect(res.code).not.toBe(0);
    expect(res.stderr).toMatch(/Access denied/);
  });
});

describe('postgres', () => {
  it('plain psql after sourcing env.sh logs in as the admin, over TCP with a SCRAM password', async () => {
    const res = await withEnvSh(`psql -X -At -c "select current_user, inet_server_port(), (select rolcreatedb and rolcreaterole and not rolsuper from pg_roles where rolname = current_user)"`);
    expect(res.stderr).toBe('');
    expect(res.stdout.trim()).toBe(`${stack.postgres.adminUser}|${stack.ports.postgres}|t`);
    const secret = await withEnvSh(`psql -X -At -c "select left(rolpassword, 14) from pg_authid where rolname = current_user"`);
    // Not a superuser: it cannot read pg_authid at all, which is the point.
    expect(secret.stderr).toMatch(/permission denied/);
  });

  it('the admin creates a role and a database owned by it, and drops both', async () => {
    const name = `t_${randomBytes(4).toString('hex')}`;
    const res = await withEnvSh(
      `psql -X -q -v ON_ERROR_STOP=1 -c "create role ${name} login password 'pw'" -c "grant ${name} to current_user" -c "create database ${name} owner ${name}" -c "drop database ${name}" -c "drop role ${name}"`,
    );
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
  });

  it('refuses a wrong password', async () => {
    const res = await withEnvSh(`PGPASSWORD=wrong psql -X -c 'select 1'`);
    expect(res.code).not.toBe(0);
    expect(res.stderr).toMatch(/password authentication failed/);
  });
});

describe('dev CA and the localhost certificate', () => {
  it('the certificate is for localhost and 127.0.0.1, signed by the CA, and the keys are private', () => {
    const ca = new X509Certificate(readFileSync(stack.tls.caFile));
    const cert = new X509Certificate(readFileSync(stack.tls.certFile));
    expect(ca.ca).toBe(true);
    expect(cert.ca).toBe(false);
    expect(cert.checkHost('localhost')).toBe('localhost');
    expect(cert.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(cert.checkHost('example.org')).toBeUndefined();
    expect(cert.verify(ca.publicKey)).toBe(true);
    expect(cert.checkIssued(ca)).toBe(true);
    expect(Date.parse(cert.validTo) - Date.now()).toBeGreaterThan(30 * 24 * 3600 * 1000);
    expect(statSync(stack.tls.keyFile).mode & 0o077).toBe(0);
    expect(statSync(stack.tls.caFile.replace(/\.crt$/, '.key')).mode & 0o077).toBe(0);
  });

  it('a TLS client that trusts only the CA accepts a server with the certificate at https://localhost', async () => {
    const server = tls.createServer({ cert: readFileSync(stack.tls.certFile), key: readFileSync(stack.tls.keyFile) }, (sock) => sock.end('hello'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const got = await new Promise<string>((resolve, reject) => {
        const sock = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca: readFileSync(stack.tls.caFile) }, () => {
          if (!sock.authorized) reject(sock.authorizationError);
        });
        let data = '';
        sock.on('data', (d) => (data += d));
        sock.on('end', () => resolve(data));
        sock.on('error', reject);
      });
      expect(got).toBe('hello');
    } finally {
      server.close();
    }
  });
});

describe('status', () => {
  it('reports every server, the databases included, running and answering', async () => {
    const st = await stackStatus(stack.dir);
    const servers = st!.processes.filter((p) => !p.name.startsWith('ceod-'));
    expect(servers.map((p) => p.name)).toEqual(['slapd', 'krb5kdc', 'kadmind', 'redis', 'mailman', 'smtp', 'mariadb', 'postgres']);
    for (const p of servers) expect([p.name, p.running, p.answering]).toEqual([p.name, true, true]);
  });
});

describe('outages', () => {
  it('stopService/startService take Mailman REST down and bring it back', async () => {
    expect(await mailmanVersions()).toBe(200);
    try {
      await stopService(stack, 'mailman');
      expect(await mailmanVersions()).toBe(0);
    } finally {
      await startService(stack, 'mailman');
    }
    expect(await mailmanVersions()).toBe(200);
  }, 90000);

  it('Redis keeps what a MULTI/EXEC wrote across a restart (the AOF replays it despite the ACL)', async () => {
    const key = `devstack-test:${randomBytes(4).toString('hex')}`;
    const redis = new IORedis(stack.redis.url, { ...redisAuth(stack), maxRetriesPerRequest: 1 });
    redis.on('error', () => undefined);
    try {
      await redis.multi().set(`${key}:a`, '1').set(`${key}:b`, '2').exec();
      await redis.quit();
      try {
        await stopService(stack, 'redis');
      } finally {
        await startService(stack, 'redis');
      }
      const after = new IORedis(stack.redis.url, { ...redisAuth(stack), maxRetriesPerRequest: 1 });
      try {
        expect(await after.mget(`${key}:a`, `${key}:b`)).toEqual(['1', '2']);
        await after.del(`${key}:a`, `${key}:b`);
      } finally {
        after.disconnect();
      }
    } finally {
      redis.disconnect();
    }
  }, 60000);

  it('MariaDB and PostgreSQL come back with their data: the admin users still log in', async () => {
    const mysql = () => withEnvSh(`mysql -h "$MYSQL_HOST" -P "$MYSQL_PORT" -u "$MYSQL_ADMIN_USER" -p"$MYSQL_ADMIN_PASSWORD" -N -e 'select 1'`);
    const psql = () => withEnvSh(`psql -X -At -c 'select 1'`);
    try {
      await Promise.all([stopService(stack, 'mariadb'), stopService(stack, 'postgres')]);
      expect((await mysql()).code).not.toBe(0);
      expect((await psql()).code).not.toBe(0);
    } finally {
      await Promise.all([startService(stack, 'mariadb'), startService(stack, 'postgres')]);
    }
    expect((await mysql()).stdout.trim()).toBe('1');
    expect((await psql()).stdout.trim()).toBe('1');
  }, 90000);
});
