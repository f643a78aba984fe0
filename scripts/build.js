#!/usr/bin/env node
// `npm run build` (and `prepack`): compile src/, workflows/ and activities/ to dist/ with tsc,
// then copy what tsc does not: bbm's own schema migrations (SQL files read at run time).
// Plain JavaScript so it runs without tsx.
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const dist = path.join(root, 'dist');
// A clean slate: a file deleted from src/ must not live on in the tarball.
fs.rmSync(dist, { recursive: true, force: true });
execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(root, 'tsconfig.build.json')], {
  cwd: root,
  stdio: ['ignore', process.stderr, 'inherit'],
});
const sqlFrom = path.join(root, 'src', 'db', 'migrations');
const sqlTo = path.join(dist, 'src', 'db', 'migrations');
fs.mkdirSync(sqlTo, { recursive: true });
for (const file of fs.readdirSync(sqlFrom)) if (file.endsWith('.sql')) fs.copyFileSync(path.join(sqlFrom, file), path.join(sqlTo, file));
// stderr: `npm pack --json` keeps stdout for its JSON.
console.error(`bbm: built ${path.relative(root, dist)}/`);
