#!/usr/bin/env node
// The `bbm` command. bbm ships as TypeScript; tsx compiles it on the fly (and caches the result),
// so there is no build step to forget between a `git pull` and a deploy.
'use strict';
require('tsx/cjs');
const { runCli } = require('../src/cli/main.ts');

runCli(process.argv).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`error[UNEXPECTED]: ${err && err.message ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
