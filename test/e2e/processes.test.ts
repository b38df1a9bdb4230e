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

function configWith(role: 'admin' | 'api' | 'mail', edit: (ini: Record<string, any>) => void): string {
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

test('SIGTERM: the API and the workers exit 0', async () => {
  const cluster = await startCeod(stack, { name: 'sigterm' });
  try {
    for (const name of ['api', 'admin', 'fs', 'mail', 'db'] as const) expect(await cluster.kill(name, 'SIGTERM')).toBe(0);
    expect(cluster.logs('api')).toContain('"signal":"SIGTERM"');
  } finally {
    await cluster.stop();
  }
}, 60_000);
