#!/usr/bin/env node
// Installs what the project needs before anything else runs: the Debian
// packages of the local server stack, node_modules, and the build.
// Plain CommonJS with no npm dependencies: it runs before `npm ci`.
// Run alone (`node scripts/bootstrap.js`) it does all three.
'use strict';
const { spawnSync } = require('node:child_process');
const { existsSync, statSync } = require('node:fs');
const { join } = require('node:path');

const ROOT = join(__dirname, '..');

/** Servers of the dev/test stack and the client tools the tests and env.sh use. */
const DEBIAN_PACKAGES = [
  'slapd',
  'ldap-utils',
  'krb5-kdc',
  'krb5-admin-server',
  'krb5-user',
  'libkrb5-dev',
  'libsasl2-modules-gssapi-mit',
  'redis-server',
  // Redis Sentinel, and `ss` (iproute2) to see who holds a port.
  'redis-sentinel',
  'iproute2',
  'mailman3',
  'mariadb-server',
  'mariadb-client',
  'postgresql',
  'postgresql-client',
  // The stack's dev CA and localhost certificate.
  'openssl',
  'curl',
  // The README's examples read JSON answers with it.
  'jq',
  // Headless browser for the tests of pages (large: ~40 s to install).
  'chromium',
];
/** Installed without recommends: only its CLI is needed, to validate docker-compose.yml. */
const DEBIAN_PACKAGES_NO_RECOMMENDS = ['docker-compose'];

function say(msg) {
  process.stdout.write(`[bootstrap] ${msg}\n`);
}

function run(cmd, args, opts = {}) {
  say(`$ ${[cmd, ...args].join(' ')}`);
  const r = spawnSync(cmd, args, { stdio: 'inherit', cwd: ROOT, ...opts });
  if (r.error) throw new Error(`${cmd}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited with ${r.status ?? r.signal}`);
}

function isInstalled(pkg) {
  const r = spawnSync('dpkg-query', ['-W', '-f', '${db:Status-Status}', pkg], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.trim() === 'installed';
}

/** apt-get as root directly, else through sudo (non-interactive: CI has no stdin). */
function apt(args) {
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  if (typeof process.getuid === 'function' && process.getuid() === 0) {
    run('apt-get', args, { env, stdio: ['ignore', 'inherit', 'inherit'] });
  } else {
    run('sudo', ['-n', 'env', 'DEBIAN_FRONTEND=noninteractive', 'apt-get', ...args], { env, stdio: ['ignore', 'inherit', 'inherit'] });
  }
}

/** Installs the missing Debian packages (one `apt-get update` first). */
function ensureDebianPackages() {
  if (spawnSync('dpkg-query', ['--version']).status !== 0) {
    say('dpkg-query not found: not a Debian system; install the equivalent of these packages yourself:');
    say(`  ${[...DEBIAN_PACKAGES, ...DEBIAN_PACKAGES_NO_RECOMMENDS].join(' ')}`);
    return;
  }
  const missing = DEBIAN_PACKAGES.filter((p) => !isInstalled(p));
  const missingNoRec = DEBIAN_PACKAGES_NO_RECOMMENDS.filter((p) => !isInstalled(p));
  if (missing.length === 0 && missingNoRec.length === 0) {
    say('Debian packages: all installed');
    return;
  }
  say(`Debian packages missing: ${[...missing, ...missingNoRec].join(' ')}`);
  apt(['update']);
  if (missing.length > 0) apt(['install', '-y', ...missing]);
  if (missingNoRec.length > 0) apt(['install', '-y', '--no-install-recommends', ...missingNoRec]);
}

/** `npm ci` if node_modules is missing or older than package-lock.json. */
function ensureNodeModules() {
  const lock = join(ROOT, 'package-lock.json');
  const installed = join(ROOT, 'node_modules', '.package-lock.json');
  if (existsSync(installed) && statSync(installed).mtimeMs >= statSync(lock).mtimeMs) {
    say('node_modules: up to date');
    return;
  }
  say(existsSync(installed) ? 'package-lock.json is newer than node_modules' : 'node_modules missing');
  run('npm', ['ci']);
}

/** `npm run build` (tsc src -> dist: the daemon) and `npm run build:tools` (tools -> dist-tools: the dev stack). */
function build() {
  run('npm', ['run', 'build']);
  run('npm', ['run', 'build:tools']);
}

/** Node 20.19 or later (package.json engines): the kerberos module and require(esm) need it. */
function checkNode() {
  const [major, minor] = process.versions.node.split('.').map(Number);
  if (major < 20 || (major === 20 && minor < 19)) {
    throw new Error(`Node ${process.versions.node} is too old: ceo needs Node 20.19 or later (package.json "engines"); install a newer Node and run this again`);
  }
}

/** All three, exiting with a one-line message if one fails. */
function bootstrap() {
  try {
    checkNode();
    ensureDebianPackages();
    ensureNodeModules();
    build();
  } catch (e) {
    process.stderr.write(`[bootstrap] ${e.message}\n`);
    process.exit(1);
  }
}

module.exports = { bootstrap, checkNode, ensureDebianPackages, ensureNodeModules, build, DEBIAN_PACKAGES, DEBIAN_PACKAGES_NO_RECOMMENDS };

if (require.main === module) bootstrap();
