#!/usr/bin/env node
// `npm run dev [-- --detach]`: bootstrap (Debian packages, node_modules, build),
// then the dev stack in .dev at base port 17000 with the ceod API and workers.
// In the foreground it stays until Ctrl-C and then stops everything it started;
// with --detach it returns once everything answers.
// `npm run dev:down` (or `node scripts/dev.js --down`): stop it all.
'use strict';
const { spawn } = require('node:child_process');
const { existsSync } = require('node:fs');
const { join } = require('node:path');
const { checkNode, ensureDebianPackages, ensureNodeModules, build } = require('./bootstrap');

const ROOT = join(__dirname, '..');
const DEV_DIR = join(ROOT, '.dev');
const DEV_BASE_PORT = '17000';
const CLI = join(ROOT, 'dist-tools', 'devstack', 'cli.js');

function cli(args) {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
  // Ctrl-C reaches the CLI too (same process group): let it stop the stack in
  // order while we wait. A SIGTERM sent to us alone is passed on.
  process.on('SIGINT', () => undefined);
  process.on('SIGTERM', () => child.kill('SIGTERM'));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}

function main() {
  const argv = process.argv.slice(2);
  const unknown = argv.filter((a) => a !== '--down' && a !== '--detach');
  if (unknown.length > 0) {
    process.stderr.write(`usage: node scripts/dev.js [--detach] | --down   (unknown: ${unknown.join(' ')})\n`);
    process.exit(2);
  }
  if (argv.includes('--down')) {
    if (!existsSync(CLI)) {
      ensureNodeModules();
      build();
    }
    cli(['down', '--dir', DEV_DIR]);
    return;
  }
  checkNode();
  ensureDebianPackages();
  ensureNodeModules();
  build();
  const args = ['up', '--dir', DEV_DIR, '--base-port', DEV_BASE_PORT, '--with-ceod'];
  if (argv.includes('--detach')) args.push('--detach');
  cli(args);
}

try {
  main();
} catch (e) {
  process.stderr.write(`[dev] ${e.message}\n`);
  process.exit(1);
}
