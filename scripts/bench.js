#!/usr/bin/env node
// `npm run bench`: installs what is missing and builds (as `npm test` does),
// compiles bench/ (bench/tsconfig.json -> dist-bench), then runs the
// benchmarks. Arguments after `--` go to bench/main.ts (--quick, --n N, --only 1,2).
'use strict';
const { spawnSync } = require('node:child_process');
const { join } = require('node:path');
const { bootstrap } = require('./bootstrap');

const ROOT = join(__dirname, '..');
bootstrap();
const tsc = spawnSync('npx', ['tsc', '-p', 'bench/tsconfig.json'], { stdio: 'inherit', cwd: ROOT });
if (tsc.status !== 0) process.exit(tsc.status ?? 1);
spawnSync(process.execPath, [join(ROOT, 'scripts/copy-assets.js'), 'dist-bench/src'], { stdio: 'inherit', cwd: ROOT });
const r = spawnSync(process.execPath, [join(ROOT, 'dist-bench', 'bench', 'main.js'), ...process.argv.slice(2)], { stdio: 'inherit', cwd: ROOT });
process.exit(r.status ?? 1);
