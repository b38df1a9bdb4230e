/**
 * ceod as an operator meets it: a bad config names the key, an unreachable
 * server is named, SIGTERM stops cleanly.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'ini';
import { freePort, MAIN, startCeod } from '../helpers/ceod';
import { testStack } from '../helpers/stack';

const stack = testStack();
const dir = mkdtempSync(join(tmpdir(), 'ceod-proc-'));

function ceod(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, ...args], { timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr });
    });
  });
}

function configWith(role: 'admin' | 'api' | 'mail' | 'db', edit: (ini: Record<string, any>) => void): string {
  const ini = parse(readFileSync(stack.configs[role], 'utf8'));
  edit(ini);
  const file = join(dir, `${role}-${Math.random().toString(36).slice(2)}.ini`);
  writeFileSync(file, stringify(ini), { mode: 0o600 });
  return file;
}

test('a bad config exits 2 with a message naming the key', async () => {
  const file = configWith('admin', (ini) => {
    ini.members.max_id = 'lots';
    ini.smtp.prot = '25';
  });
  const r = await ceod(['worker', '--config', file]);
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(/members\.max_id/);
  const r2 = await ceod(['worker', '--config', configWith('admin', (ini) => (ini.smtp.prot = '25'))]);
  expect(r2.code).toBe(2);
  expect(r2.stderr).toMatch(/smtp: unknown key\(s\) prot/);
});

test('a missing secret file is named', async () => {
  const r = await ceod(['worker', '--config', configWith('admin', (ini) => (ini.ldap.bind_password_file = '/nonexistent/pw'))]);
  expect(r.code).toBe(2);
  expect(r.stderr).toContain('ldap.bind_password_file');
  expect(r.stderr).toContain('/nonexistent/pw');
});

test('an unreachable server is named, and the process exits 1', async () => {
  const port = await freePort();
  const r = await ceod(['worker', '--wait-ms', '500', '--config', configWith('admin', (ini) => (ini.ldap.url = `ldap://127.0.0.1:${port}`))]);
  expect(r.code).toBe(1);
  expect(r.stderr).toContain(`cannot reach LDAP at ldap://127.0.0.1:${port}`);
  const m = await ceod(['worker', '--wait-ms', '500', '--config', configWith('mail', (ini) => (ini.mailman.url = `http://127.0.0.1:${port}/3.1`))]);
  expect(m.code).toBe(1);
  expect(m.stderr).toContain(`cannot reach Mailman REST at http://127.0.0.1:${port}/3.1`);
});

test('`ceod check` reaches every server a host needs', async () => {
  const r = await ceod(['check', '--config', stack.configs.admin]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
});

test('`ceod check` checks Redis too, and LDAP on an API host: a closed port exits 1 naming the server (issue 10)', async () => {
  const port = await freePort();
  const redisDown = await ceod(['check', '--wait-ms', '500', '--config', configWith('admin', (ini) => (ini.redis.url = `redis://127.0.0.1:${port}`))]);
  expect(redisDown.code).toBe(1);
  expect(redisDown.stderr).toContain(`cannot reach Redis at redis://127.0.0.1:${port}`);
  const api = await ceod(['check', '--config', stack.configs.api]);
  expect([api.code, api.stderr]).toEqual([0, '']);
  const ldapDown = await ceod(['check', '--wait-ms', '500', '--config', configWith('api', (ini) => (ini.ldap.url = `ldap://127.0.0.1:${port}`))]);
  expect(ldapDown.code).toBe(1);
  expect(ldapDown.stderr).toContain(`cannot reach LDAP at ldap://127.0.0.1:${port}`);
});

test('`ceod check` on a db host reaches MySQL and PostgreSQL; with servers down it exits 1 naming every one that failed (issue 12)', async () => {
  const ok = await ceod(['check', '--config', stack.configs.db]);
  expect([ok.code, ok.stderr]).toEqual([0, '']);
  const [mysql, postgresql, redis] = [await freePort(), await freePort(), await freePort()];
  const db = parse(readFileSync(stack.configs.db, 'utf8'));
  const down = await ceod([
    'check',
    '--wait-ms',
    '500',
    '--config',
    configWith('db', (ini) => {
      ini.mysql.port = mysql;
      ini.postgresql.port = postgresql;
    }),
  ]);
  expect(down.code).toBe(1);
  expect(down.stderr).toContain(`cannot reach MySQL at ${db.mysql.host}:${mysql}`);
  expect(down.stderr).toContain(`cannot reach PostgreSQL at ${db.postgresql.host}:${postgresql}`);
  expect(down.stderr).not.toContain('cannot reach Redis');
  // Redis too: each failure named, not only the first.
  const all = await ceod(['check', '--wait-ms', '500', '--config', configWith('db', (ini) => {
    ini.redis.url = `redis://127.0.0.1:${redis}`;
    ini.mysql.port = mysql;
    ini.postgresql.port = postgresql;
  })]);
  expect(all.code).toBe(1);
  for (const name of [`Redis at redis://127.0.0.1:${redis}`, `MySQL at ${db.mysql.host}:${mysql}`, `PostgreSQL at ${db.postgresql.host}:${postgresql}`]) {
    expect(all.stderr).toContain(`cannot reach ${name}`);
  }
});

test('SIGTERM: the API and the workers exit 0', async () => {
  const cluster = await startCeod(stack, { name: 'sigterm' });
  try {
    for (const name of ['api', 'admin', 'fs', 'mail', 'db'] as const) expect(await cluster.kill(name, 'SIGTERM')).toBe(0);
    expect(cluster.logs('api')).toContain('"signal":"SIGTERM"');
  } finally {
    await cluster.stop();
  }
}, 60_000);

describe('TLS (issue 10, #1)', () => {
  test('an API host without its certificate or key fails at start naming the key; an unreadable one is named with its file', async () => {
    const missing = await ceod(['api', '--config', configWith('api', (ini) => delete ini.ceod.tls_cert_file)]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('ceod.tls_cert_file: required');
    const unreadable = await ceod(['api', '--config', configWith('api', (ini) => (ini.ceod.tls_key_file = '/nonexistent/ceod.key'))]);
    expect(unreadable.code).toBe(2);
    expect(unreadable.stderr).toContain('ceod.tls_key_file: cannot read /nonexistent/ceod.key');
  });

  test('the API serves HTTPS only: a client that does not trust the CA fails, plain HTTP gets no answer in clear', async () => {
    const cluster = await startCeod(stack, { name: 'tls', procs: ['api'] });
    try {
      const port = new URL(cluster.url).port;
      // Trusting the stack's CA (env.sh's CURL_CA_BUNDLE): it answers.
      const trusted = await new Promise<string>((resolve) =>
        execFile('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '--cacert', stack.tls.caFile, `${cluster.url}/health`], (_e, out) => resolve(out)),
      );
      expect(trusted).toBe('200');
      // curl with only the system roots: the certificate is refused (exit 60), nothing is sent.
      const untrusted = await new Promise<{ code: number | null; err: string }>((resolve) =>
        execFile('curl', ['-sS', '--cacert', '/etc/ssl/certs/ca-certificates.crt', `${cluster.url}/health`], { env: { PATH: process.env.PATH } }, (e, _out, err) =>
          resolve({ code: (e as { code?: number } | null)?.code ?? 0, err }),
        ),
      );
      expect(untrusted.code).toBe(60);
      expect(untrusted.err).toMatch(/certificate/i);
      // Plain HTTP to the HTTPS port: whatever comes back is no HTTP answer, let alone JSON.
      const { connect } = await import('node:net');
      const clear = await new Promise<string>((resolve) => {
        const s = connect(Number(port), '127.0.0.1', () => s.write('GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n'));
        let got = '';
        s.on('data', (d) => (got += d.toString('latin1')));
        s.on('close', () => resolve(got));
        s.on('error', () => resolve(got));
        setTimeout(() => s.destroy(), 5000);
      });
      expect(clear).not.toMatch(/^HTTP\//);
      expect(clear).not.toContain('"status"');
    } finally {
      await cluster.stop();
    }
  }, 60_000);

  test('tls = off serves plain HTTP and says so at start', async () => {
    const port = await freePort();
    const file = configWith('api', (ini) => Object.assign(ini.ceod, { tls: 'off', api_listen: `127.0.0.1:${port}` }));
    const { spawn } = await import('node:child_process');
    const child = spawn(process.execPath, [MAIN, 'api', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    child.stdout.on('data', (d) => (log += d));
    try {
      for (const deadline = Date.now() + 30_000; !log.includes('API listening') && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 100));
      expect(log).toContain('tls = off: the API serves plain HTTP');
      expect(log).toContain(`"url":"http://127.0.0.1:${port}"`);
      expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(200);
    } finally {
      child.kill('SIGTERM');
    }
  }, 60_000);
});
