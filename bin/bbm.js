#!/usr/bin/env node
// The `bbm` command. Installed from the package it runs the compiled JavaScript in dist/ (no
// TypeScript tooling at run time). In a checkout of the repository, where src/ exists, it runs
// the sources through tsx (a devDependency) instead, so a stale dist/ can never be what runs.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const checkout = fs.existsSync(path.join(__dirname, '..', 'src', 'cli', 'main.ts'));
if (checkout) require('tsx/cjs');
const { runCli } = require(checkout ? '../src/cli/main.ts' : '../dist/src/cli/main.js');

runCli(process.argv).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`error[UNEXPECTED]: ${err && err.message ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
