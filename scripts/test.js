#!/usr/bin/env node
// `npm test`: installs what is missing (Debian packages, node modules), builds,
// then runs every jest project. The integration and e2e projects start their
// own stack of real servers in .test-stack (jest globalSetup) and stop it after.
'use strict';
const { spawnSync } = require('node:child_process');
const { ensureDebianPackages, ensureNodeModules, build } = require('./bootstrap');

ensureDebianPackages();
ensureNodeModules();
build();
// ts-jest only transpiles (isolatedModules); type-check the tests here, once.
const tc = spawnSync('npm', ['run', '--silent', 'typecheck'], { stdio: 'inherit' });
if (tc.status !== 0) process.exit(tc.status ?? 1);
const args = ['jest', '--ci', ...process.argv.slice(2)];
const r = spawnSync('npx', args, { stdio: 'inherit', env: { ...process.env, FORCE_COLOR: '0' } });
process.exit(r.status ?? 1);
