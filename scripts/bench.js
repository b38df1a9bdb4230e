#!/usr/bin/env node
// `npm run bench`: installs what is missing and builds (as `npm test` does),
// compiles bench/ (bench/tsconfig.json -> dist-bench), then runs the
// benchmarks. Arguments after `--` go to bench/main.ts (--quick, --n N, --only 1,2).
// The bench runs with a raised open-file limit (below).
'use strict';
const { spawnSync } = require('node:child_process');
const { join } = require('node:path');
const { bootstrap } = require('./bootstrap');

const ROOT = join(__dirname, '..');
bootstrap();
const tsc = spawnSync('npx', ['tsc', '-p', 'bench/tsconfig.json'], { stdio: 'inherit', cwd: ROOT });
if (tsc.status !== 0) process.exit(tsc.status ?? 1);
spawnSync(process.execPath, [join(ROOT, 'scripts/copy-assets.js'), 'dist-bench/src'], { stdio: 'inherit', cwd: ROOT });
// Scenario 5 holds 10,000 event streams: a socket each in the bench and in the
// API it starts. Raise the open-file limit for the bench (and the processes it
// starts) only: to 65536 where allowed (root), else to the hard limit.
const raise = 'ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$@"';
const r = spawnSync('/bin/sh', ['-c', raise, 'sh', process.execPath, join(ROOT, 'dist-bench', 'bench', 'main.js'), ...process.argv.slice(2)], { stdio: 'inherit', cwd: ROOT });
process.exit(r.status ?? 1);
