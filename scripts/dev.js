#!/usr/bin/env node
// `npm run dev [-- --detach]`: bootstrap (Debian packages, node_modules, build),
// then the dev stack in .dev at base port 17000 with the ceod API and workers.
// In the foreground it stays until Ctrl-C and then stops everything it started;
// with --detach it returns once everything answers.
// `npm run dev -- --hosts [--detach]`: the same as hosts in network namespaces
// (tools/hosts, docs/environments.md#hosts-in-network-namespaces) in .dev-hosts;
// needs root. Ctrl-C stops it and removes the namespaces.
// `npm run dev:down` (or `node scripts/dev.js --down`): stop it all (both).
'use strict';
const { spawn, spawnSync } = require('node:child_process');
const { existsSync } = require('node:fs');
const { join } = require('node:path');
const { checkNode, ensureDebianPackages, ensureNodeModules, build } = require('./bootstrap');

const ROOT = join(__dirname, '..');
const DEV_DIR = join(ROOT, '.dev');
const DEV_BASE_PORT = '17000';
const CLI = join(ROOT, 'dist-tools', 'devstack', 'cli.js');
const HOSTS_DIR = join(ROOT, '.dev-hosts');
const HOSTS_CLI = join(ROOT, 'dist-tools', 'hosts', 'cli.js');

function cli(args, script = CLI) {
  const child = spawn(process.execPath, [script, ...args], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
  // Ctrl-C reaches the CLI too (same process group): let it stop the stack in
  // order while we wait. A SIGTERM sent to us alone is passed on.
  process.on('SIGINT', () => undefined);
  process.on('SIGTERM', () => child.kill('SIGTERM'));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}

function main() {
  const argv = process.argv.slice(2);
  const unknown = argv.filter((a) => a !== '--down' && a !== '--detach' && a !== '--hosts');
  if (unknown.length > 0) {
    process.stderr.write(`usage: node scripts/dev.js [--hosts] [--detach] | --down   (unknown: ${unknown.join(' ')})\n`);
    process.exit(2);
  }
  if (argv.includes('--down')) {
    if (!existsSync(CLI)) {
      ensureNodeModules();
      build();
    }
    // The multi-host dev stack first (its namespaces go with it), then the loopback one.
    if (existsSync(join(HOSTS_DIR, 'stack.json'))) {
      const r = spawnSync(process.execPath, [HOSTS_CLI, 'down', '--dir', HOSTS_DIR], { cwd: ROOT, stdio: 'inherit' });
      if (r.status !== 0) process.exit(r.status ?? 1);
    }
    cli(['down', '--dir', DEV_DIR]);
    return;
  }
  checkNode();
  ensureDebianPackages();
  ensureNodeModules();
  build();
  if (argv.includes('--hosts')) {
    if (process.getuid?.() !== 0) {
      process.stderr.write('[dev] --hosts needs root (it makes network namespaces with ip netns)\n');
      process.exit(1);
    }
    const args = ['up', '--dir', HOSTS_DIR, '--base-port', DEV_BASE_PORT, '--with-ceod'];
    if (argv.includes('--detach')) args.push('--detach');
    cli(args, HOSTS_CLI);
    return;
  }
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
