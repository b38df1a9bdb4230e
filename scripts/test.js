#!/usr/bin/env node
// `npm test`: installs what is missing (Debian packages, node modules), builds,
// then runs every jest project. The integration and e2e projects start their
// own stack of real servers in .test-stack (jest globalSetup) and stop it after.
//
// The fault suite (test/faults, project `faults`) stops servers of that stack,
// so it never shares a run with other test files: it runs after them, in a
// jest invocation of its own, --runInBand, at CEOD_FAULT_SCALE=reduced.
// `npm run test:faults` (`--faults`) runs only it, at full scale.
// Arguments after `--` go to jest (e.g. `npm test -- --selectProjects unit`);
// when they select projects, only that one invocation runs.
'use strict';
const { spawnSync } = require('node:child_process');
const { existsSync, readFileSync, rmSync } = require('node:fs');
const { join } = require('node:path');
const { ensureDebianPackages, ensureNodeModules, build } = require('./bootstrap');

const argv = process.argv.slice(2);
const faultsOnly = argv.includes('--faults');
const passthrough = argv.filter((a) => a !== '--faults');

ensureDebianPackages();
ensureNodeModules();
build();
// ts-jest only transpiles (isolatedModules); type-check the tests here, once.
const tc = spawnSync('npm', ['run', '--silent', 'typecheck'], { stdio: 'inherit' });
if (tc.status !== 0) process.exit(tc.status ?? 1);

const ROOT = join(__dirname, '..');
const totals = { passed: 0, failed: 0 };

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
  }
  return r.status ?? 1;
}

let status = 0;
if (faultsOnly) {
  status = jest('faults', ['--selectProjects', 'faults', '--runInBand', ...passthrough], { CEOD_FAULT_SCALE: process.env.CEOD_FAULT_SCALE ?? 'full' });
} else if (passthrough.includes('--selectProjects')) {
  status = jest('main', passthrough);
} else {
  status = jest('main', ['--selectProjects', 'unit', 'integration', 'e2e', ...passthrough]);
  const faults = jest('faults', ['--selectProjects', 'faults', '--runInBand', ...passthrough], { CEOD_FAULT_SCALE: process.env.CEOD_FAULT_SCALE ?? 'reduced' });
  status = status || faults;
}
// One plain closing line that any CI reads: "Tests: N passed, N failed".
process.stdout.write(`\nTests: ${totals.passed} passed, ${totals.failed} failed\n`);
process.exit(status);
