/** docker-compose.yml is valid Compose (checked without an engine, as RECIPES.md describes). */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);
const ROOT = join(__dirname, '../..');

test('docker-compose config -q accepts the multi-host dev environment', async () => {
  await expect(exec('docker-compose', ['-f', join(ROOT, 'docker-compose.yml'), 'config', '-q'])).resolves.toBeDefined();
});

test('it names the three ceod hosts, each running the roles docs/hosts-and-roles.md gives it', async () => {
  const { stdout } = await exec('docker-compose', ['-f', join(ROOT, 'docker-compose.yml'), 'config', '--services']);
  expect(stdout.split('\n').filter(Boolean).sort()).toEqual(['coffee', 'mail', 'phosphoric-acid', 'servers']);
  const { stdout: full } = await exec('docker-compose', ['-f', join(ROOT, 'docker-compose.yml'), 'config']);
  for (const cfg of ['hosts/admin.ini', 'hosts/fs.ini', 'hosts/api.ini', 'hosts/mail.ini', 'hosts/db.ini']) expect(full).toContain(cfg);
});

test('a typo in it is caught', async () => {
  const broken = (await import('node:fs')).readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8').replace('image: csclub/ceo-servers:dev', 'imag: csclub/ceo-servers:dev');
  const file = join(require('node:os').tmpdir(), `compose-${process.pid}.yml`);
  require('node:fs').writeFileSync(file, broken);
  await expect(exec('docker-compose', ['-f', file, 'config', '-q'])).rejects.toThrow(/imag/);
});

test('its Redis runs behind Sentinel: a master, a replica and three Sentinels, started by the servers host', async () => {
  const { stdout } = await exec('docker-compose', ['-f', join(ROOT, 'docker-compose.yml'), 'config']);
  expect(stdout).toMatch(/- --redis\n\s+- sentinel/);
});
