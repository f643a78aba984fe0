#!/usr/bin/env node
// Runs before `npm start` and `npm test`: installs dependencies exactly as locked when they are
// missing or the lockfile changed, so a fresh clone needs no separate install step.
// Plain JavaScript with no dependencies, because it runs before any are installed.
'use strict';
const { execFileSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const lockfile = path.join(root, 'package-lock.json');
const stamp = path.join(root, 'node_modules', '.bbm-lock-sha256');

const wanted = crypto.createHash('sha256').update(fs.readFileSync(lockfile)).digest('hex');
const have = fs.existsSync(stamp) ? fs.readFileSync(stamp, 'utf8').trim() : '';
if (have === wanted) process.exit(0);

// `npm ci`: installs exactly what the lockfile says and never writes it, so `npm start` and
// `npm test` cannot dirty the work tree. It refuses a lockfile out of step with package.json
// (run `npm install` yourself after changing dependencies, and commit the lockfile). The
// lockfile lists every platform's optional packages (test/unit/lockfile.test.ts checks it).
console.log('bbm: installing dependencies (npm ci, exactly as package-lock.json says)...');
const npm = process.env.npm_execpath && process.env.npm_execpath.endsWith('.js') ? [process.execPath, process.env.npm_execpath] : ['npm'];
try {
  execFileSync(npm[0], [...npm.slice(1), 'ci', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
} catch (err) {
  console.error('bbm: `npm ci` failed; see the output above.');
  process.exit(1);
}
fs.writeFileSync(stamp, wanted + '\n');
