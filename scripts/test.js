#!/usr/bin/env node
// `npm test`: installs what is missing (Debian packages, node modules), builds,
// then runs every jest project. The integration and e2e projects start their
// own stack of real servers in .test-stack (jest globalSetup) and stop it after.
//
// The fault suite (test/faults, project `faults`) stops servers of that stack,
// so it never shares a run with other test files: it runs after them, in a
// jest invocation of its own, --runInBand, at CEOD_FAULT_SCALE=reduced.
// `npm run test:faults` (`--faults`) runs only it, at full scale.
// The hosts project (test/hosts: the stack as hosts in network namespaces,
// Redis behind Sentinel) runs last, each file in a jest process of its own,
// on its own stack in .hosts-stack, removed at the end (namespaces included).
// It needs root and iproute2; without them it is skipped, and says so.
// `npm run test:hosts` (`--hosts`) runs only it (reduced); `--faults` runs it
// after the fault suite, both at full scale.
// Arguments after `--` go to jest (e.g. `npm test -- --selectProjects unit`);
// when they select projects, only that one invocation runs.
'use strict';
const { spawnSync } = require('node:child_process');
const { existsSync, readFileSync, rmSync } = require('node:fs');
const { join } = require('node:path');
const { checkNode, ensureDebianPackages, ensureNodeModules, build } = require('./bootstrap');

const argv = process.argv.slice(2);
const faultsOnly = argv.includes('--faults');
const hostsOnly = argv.includes('--hosts');
const passthrough = argv.filter((a) => a !== '--faults' && a !== '--hosts');

try {
  checkNode();
} catch (e) {
  process.stderr.write(`[test] ${e.message}\n`);
  process.exit(1);
}
ensureDebianPackages();
ensureNodeModules();
build();
// ts-jest only transpiles (isolatedModules); type-check the tests here, once.
const tc = spawnSync('npm', ['run', '--silent', 'typecheck'], { stdio: 'inherit' });
if (tc.status !== 0) process.exit(tc.status ?? 1);
// The layering (dependencies point inward, no cycles) and the docs references, before any test.
const lint = spawnSync('npm', ['run', '--silent', 'lint'], { stdio: 'inherit' });
if (lint.status !== 0) process.exit(lint.status ?? 1);

const ROOT = join(__dirname, '..');
const totals = { passed: 0, failed: 0, skipped: 0 };

/** One jest invocation; adds its counts to the totals; returns its exit status. */
function jest(name, args, env = {}) {
  const results = join(ROOT, name === 'main' ? '.jest-results.json' : `.jest-results-${name}.json`);
  rmSync(results, { force: true });
  const r = spawnSync('npx', ['jest', '--ci', '--json', `--outputFile=${results}`, ...args], {
    stdio: 'inherit',
    env: { ...process.env, FORCE_COLOR: '0', ...env },
  });
  if (existsSync(results)) {
    const j = JSON.parse(readFileSync(results, 'utf8'));
    totals.passed += j.numPassedTests;
    totals.failed += j.numFailedTests;
    totals.skipped += j.numPendingTests + (j.numTodoTests ?? 0);
  }
  return r.status ?? 1;
}

// The e2e files each get a jest process of their own: after one file has made
// SPNEGO tokens with the kerberos native module, a later file's
// initializeClient in the same process never returns (seen on this machine
// kind, cause unknown). Projects run one after another, never overlapping, as
// several files stop servers of the shared stack. The stack is kept between
// invocations and stopped once at the end.
const { readdirSync } = require('node:fs');
const stackDir = process.env.CEOD_TEST_STACK_DIR ?? join(ROOT, '.test-stack');
const keep = { CEOD_KEEP_STACK: '1' };
let status = 0;

/** Whether this machine can run the hosts project: root, and `ip netns`. */
function canRunHosts() {
  if (process.getuid?.() !== 0) return 'needs root (ip netns)';
  if (spawnSync('ip', ['netns', 'list'], { stdio: 'ignore' }).status !== 0) return 'needs iproute2 (ip netns)';
  return null;
}

/** The hosts project, one jest process per file (SPNEGO tokens, see above), its stack kept between them and removed at the end. */
function runHosts(scale) {
  const why = canRunHosts();
  if (why) {
    process.stdout.write(`\nhosts project skipped: it ${why}\n`);
    return;
  }
  const hostsDir = process.env.CEOD_HOSTS_STACK_DIR ?? join(ROOT, '.hosts-stack');
  // The plain e2e file first; the Sentinel failover last (it leaves the master role moved).
  const order = ['hosts.test.ts', 'rolling-restart.test.ts', 'partition.test.ts', 'sentinel.test.ts'];
  const files = readdirSync(join(ROOT, 'test/hosts')).filter((f) => f.endsWith('.test.ts'));
  files.sort((a, b) => (order.indexOf(a) + 1 || 99) - (order.indexOf(b) + 1 || 99) || a.localeCompare(b));
  try {
    for (const file of files) {
      status = jest(`hosts-${file}`, [`test/hosts/${file}`, '--selectProjects', 'hosts', ...passthrough], { ...keep, CEOD_FAULT_SCALE: scale }) || status;
    }
  } finally {
    if (process.env.CEOD_KEEP_STACK !== '1') {
      spawnSync(process.execPath, [join(ROOT, 'dist-tools/hosts/cli.js'), 'down', '--dir', hostsDir], { stdio: 'inherit' });
    }
  }
}

if (hostsOnly) {
  runHosts(process.env.CEOD_FAULT_SCALE ?? 'reduced');
} else if (faultsOnly) {
  status = jest('faults', ['--selectProjects', 'faults', '--runInBand', ...passthrough], { CEOD_FAULT_SCALE: process.env.CEOD_FAULT_SCALE ?? 'full' });
  runHosts(process.env.CEOD_FAULT_SCALE ?? 'full');
} else if (passthrough.includes('--selectProjects')) {
  status = jest('main', passthrough);
} else {
  const run = (name, args, env = {}) => {
    status = jest(name, args, { ...keep, ...env }) || status;
  };
  run('main', ['--selectProjects', 'unit', 'integration', ...passthrough]);
  for (const file of readdirSync(join(ROOT, 'test/e2e')).filter((f) => f.endsWith('.test.ts')).sort()) {
    run(`e2e-${file}`, [`test/e2e/${file}`, '--selectProjects', 'e2e', ...passthrough]);
  }
  run('faults', ['--selectProjects', 'faults', '--runInBand', ...passthrough], { CEOD_FAULT_SCALE: process.env.CEOD_FAULT_SCALE ?? 'reduced' });
  if (process.env.CEOD_KEEP_STACK !== '1') {
    spawnSync(process.execPath, [join(ROOT, 'dist-tools/devstack/cli.js'), 'down', '--dir', stackDir], { stdio: 'inherit' });
  }
  runHosts(process.env.CEOD_FAULT_SCALE ?? 'reduced');
}
// One plain closing line that any CI reads: "Tests: N passed, N failed, N skipped".
process.stdout.write(`\nTests: ${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped\n`);
process.exit(status);
