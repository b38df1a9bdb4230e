#!/usr/bin/env node
// `npm test`: installs what is missing (Debian packages, node modules), builds,
// then runs every jest project. The integration and e2e projects start their
// own stack of real servers in .test-stack (jest globalSetup) and stop it after.
'use strict';
const { spawnSync } = require('node:child_process');
const { existsSync, readFileSync, rmSync } = require('node:fs');
const { join } = require('node:path');
const { ensureDebianPackages, ensureNodeModules, build } = require('./bootstrap');

ensureDebianPackages();
ensureNodeModules();
build();
// ts-jest only transpiles (isolatedModules); type-check the tests here, once.
const tc = spawnSync('npm', ['run', '--silent', 'typecheck'], { stdio: 'inherit' });
if (tc.status !== 0) process.exit(tc.status ?? 1);
const results = join(__dirname, '..', '.jest-results.json');
rmSync(results, { force: true });
const args = ['jest', '--ci', '--json', `--outputFile=${results}`, ...process.argv.slice(2)];
const r = spawnSync('npx', args, { stdio: 'inherit', env: { ...process.env, FORCE_COLOR: '0' } });
// One plain closing line that any CI reads: "Tests: N passed, N failed".
if (existsSync(results)) {
  const j = JSON.parse(readFileSync(results, 'utf8'));
  process.stdout.write(`\nTests: ${j.numPassedTests} passed, ${j.numFailedTests} failed\n`);
}
process.exit(r.status ?? 1);
