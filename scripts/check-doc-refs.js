#!/usr/bin/env node
// Part of `npm run lint`: every documentation reference a code comment makes
// (`docs/<file>.md` or `docs/<file>.md#anchor`, in src/ and tools/) must
// resolve inside this repository: the file exists and, if an anchor is given,
// the file has a heading with that GitHub-style anchor. A citation of a
// contract outside the repository ("SPEC §n") is refused too.
'use strict';
const { readFileSync, readdirSync, statSync, existsSync } = require('node:fs');
const { join, relative } = require('node:path');

const ROOT = join(__dirname, '..');

function files(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...files(p));
    else if (/\.(ts|lua)$/.test(name)) out.push(p);
  }
  return out;
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to `-`. */
function anchor(heading) {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

const anchorsOf = new Map();
function anchors(doc) {
  if (!anchorsOf.has(doc)) {
    const text = readFileSync(join(ROOT, doc), 'utf8').replace(/```[\s\S]*?```/g, '');
    anchorsOf.set(doc, new Set([...text.matchAll(/^#{1,6}\s+(.+)$/gm)].map((m) => anchor(m[1]))));
  }
  return anchorsOf.get(doc);
}

const problems = [];
let refs = 0;
for (const file of [...files(join(ROOT, 'src')), ...files(join(ROOT, 'tools')), join(ROOT, 'etc', 'ceod.example.ini'), join(ROOT, 'schema', 'csc.schema')]) {
  const text = readFileSync(file, 'utf8');
  const rel = relative(ROOT, file);
  for (const m of text.matchAll(/SPEC §\s*\d+/g)) problems.push(`${rel}: cites "${m[0]}", which is not in this repository: cite docs/ instead`);
  for (const m of text.matchAll(/\bdocs\/([\w.-]+\.md)(#[\w-]+)?/g)) {
    refs += 1;
    const doc = `docs/${m[1]}`;
    if (!existsSync(join(ROOT, doc))) {
      problems.push(`${rel}: ${m[0]}: no such file`);
    } else if (m[2] && !anchors(doc).has(m[2].slice(1))) {
      problems.push(`${rel}: ${m[0]}: no heading with that anchor in ${doc}`);
    }
  }
}
if (problems.length) {
  process.stderr.write(`${problems.join('\n')}\n${problems.length} unresolved documentation reference(s)\n`);
  process.exit(1);
}
process.stdout.write(`docs references: ${refs} in src/ and tools/, all resolve\n`);
