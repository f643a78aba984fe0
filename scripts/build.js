#!/usr/bin/env node
// `npm run build` (and `prepack`): compile src/, workflows/ and activities/ to dist/ with tsc, then
// add what tsc does not: bbm's own schema migrations (SQL files read at run time) and the workflow
// bundle, built once here from the compiled workflows so a worker loads it instead of running the
// bundler (webpack) at every start (README "Worker memory").
// `--out-dir <dir>`: build there instead of dist/ (the bench builds its own copy, so a concurrent
// `npm pack` cannot replace the code under a running bench worker). Plain JavaScript so it runs without tsx.
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const outFlag = process.argv.indexOf('--out-dir');
const dist = outFlag > 0 ? path.resolve(process.argv[outFlag + 1] ?? '') : path.join(root, 'dist');
if (dist === root) throw new Error('--out-dir needs a directory other than the repository');

async function main() {
  // A clean slate: a file deleted from src/ must not live on in the tarball.
  fs.rmSync(dist, { recursive: true, force: true });
  const tsc = require.resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.build.json'), '--outDir', dist], {
    cwd: root,
    stdio: ['ignore', process.stderr, 'inherit'],
  });
  const sqlFrom = path.join(root, 'src', 'db', 'migrations');
  const sqlTo = path.join(dist, 'src', 'db', 'migrations');
  fs.mkdirSync(sqlTo, { recursive: true });
  for (const file of fs.readdirSync(sqlFrom)) if (file.endsWith('.sql')) fs.copyFileSync(path.join(sqlFrom, file), path.join(sqlTo, file));
  // The compiled module names the bundle's file and its options, so the worker looks for exactly this one.
  const { PREBUILT_BUNDLE_FILE, workflowBundleOptions } = require(path.join(dist, 'src', 'workflow-bundle.js'));
  const { bundleWorkflowCode, DefaultLogger } = require('@temporalio/worker');
  // From the TypeScript sources, as a checkout bundles them, not from tsc's CommonJS output: their ES
  // imports let webpack take zod's ES modules and leave out what bbm does not use (zod's CommonJS
  // entry points pull in every locale); on the bench the CommonJS bundle made the worker ~2.5x larger.
  const { code } = await bundleWorkflowCode({
    ...workflowBundleOptions(path.join(root, 'workflows', 'index.ts')),
    logger: new DefaultLogger('WARN'),
  });
  fs.writeFileSync(path.join(dist, PREBUILT_BUNDLE_FILE), code);
  // stderr: `npm pack --json` keeps stdout for its JSON.
  console.error(`bbm: built ${path.relative(root, dist) || dist}/`);
}

main().catch((err) => {
  console.error(`bbm: build failed: ${err && err.stack ? err.stack : String(err)}`);
  process.exit(1);
});
