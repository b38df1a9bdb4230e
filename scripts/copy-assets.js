#!/usr/bin/env node
// Copies what tsc does not into the build: the Lua scripts the job store runs
// in Redis (src/store/lua/*.lua → <out>/store/lua/). `node scripts/copy-assets.js [OUT_SRC_DIR]`
// (default dist/; the benchmarks pass dist-bench/src).
'use strict';
const { cpSync, mkdirSync } = require('node:fs');
const { join } = require('node:path');

const ROOT = join(__dirname, '..');
const out = process.argv[2] ? join(ROOT, process.argv[2]) : join(ROOT, 'dist');
mkdirSync(join(out, 'store'), { recursive: true });
cpSync(join(ROOT, 'src/store/lua'), join(out, 'store/lua'), { recursive: true });
