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

// `npm install` rather than `npm ci`: npm 11 writes lockfiles without other platforms' optional
// packages and then refuses them in `npm ci`. With a lockfile present, install uses its versions.
console.log('bbm: installing dependencies (npm install, versions from package-lock.json)...');
const npm = process.env.npm_execpath && process.env.npm_execpath.endsWith('.js') ? [process.execPath, process.env.npm_execpath] : ['npm'];
try {
  execFileSync(npm[0], [...npm.slice(1), 'install', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
} catch (err) {
  console.error('bbm: `npm install` failed; see the output above.');
  process.exit(1);
}
fs.writeFileSync(stamp, wanted + '\n');
