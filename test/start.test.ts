import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { freePort } from '../src/dev/ports';
import { bbm, cliEnv, processExists, shown, spawnBbm, type LongRunning } from './helpers/cli';
import { testEnv } from './helpers/env';

/**
 * `npm start` is `bbm dev --demo`. These tests run it for real, with its own Postgres and
 * Temporal dev server (not the test run's), on a small dataset.
 */
function devEnv(dataDir: string): NodeJS.ProcessEnv {
  return cliEnv(undefined, 'bbm', {
    TEMPORAL_ADDRESS: undefined,
    TEMPORAL_CLI: testEnv.temporalCli,
    BBM_DATA_DIR: dataDir,
    BBM_METRICS_PORT: '0',
    BBM_LOG_LEVEL: 'info',
  });
}

async function within<T>(promise: Promise<T>, ms: number, message: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message())), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** Every process below `pid` right now. */
function descendants(pid: number): number[] {
  const table = execFileSync('ps', ['-e', '-o', 'pid=,ppid='], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .map((l) => l.trim().split(/\s+/).map(Number) as [number, number]);
  const out: number[] = [];
  const walk = (parent: number): void => {
    for (const [child, ppid] of table) {
      if (ppid === parent) {
        out.push(child);
        walk(child);
      }
    }
  };
  walk(pid);
  return out;
}

/** Remember every descendant seen while the command runs (Postgres, its backends, Temporal). */
function trackDescendants(dev: LongRunning): { seen: Set<number>; stop(): void } {
  const seen = new Set<number>();
  const timer = setInterval(() => {
    for (const p of descendants(dev.pid)) seen.add(p);
  }, 300);
  return { seen, stop: () => clearInterval(timer) };
}

async function assertAllGone(pids: Set<number>): Promise<void> {
  // Exited children are reaped by init a moment after their parent is gone (longer on a loaded machine).
  const deadline = Date.now() + 30_000;
  let alive = [...pids].filter(processExists);
  while (alive.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
    alive = alive.filter(processExists);
  }
  assert.deepEqual(
    alive,
    [],
    `processes left running: ${alive
      .map((p) => {
        try {
          return execFileSync('ps', ['-o', 'pid=,cmd=', '-p', String(p)], { encoding: 'utf8' }).trim();
        } catch {
          return String(p);
        }
      })
      .join('; ')}`,
  );
}

test('npm start (bbm dev --demo) runs the demo to completion, prints the web UI address and leaves nothing running', async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bbm-start-'));
  const dev = spawnBbm(['dev', '--demo', '--exit-when-done', '--rows', '20000', '--repos', '4'], devEnv(dataDir));
  const tracked = trackDescendants(dev);
  const exit = await within(dev.exited, 300_000, () => `bbm dev did not finish:\n${dev.output()}`);
  tracked.stop();
  const out = dev.output();
  assert.equal(exit.code, 0, out);
  assert.match(out, /Temporal web UI\s+http:\/\/127\.0\.0\.1:\d+\/namespaces\/default\/workflows/);
  assert.match(
    out,
    /web UI, one repository: {2}http:\/\/127\.0\.0\.1:\d+\/namespaces\/default\/workflows\?query=BbmRepository%3D%22demo%2Frepo-04%22/,
  );
  assert.match(out, /export DATABASE_URL=postgres:\/\/\S+\/bbm/);
  assert.match(out, /export TEMPORAL_ADDRESS=127\.0\.0\.1:\d+/);
  assert.match(out, /generated demo\.images \(20,000 rows\)/);
  assert.match(out, /woke the enqueuer \(capacity 10\)/);
  assert.match(out, /demo \d+\.\d% \| [\d,]+ rows/, 'live progress lines');
  assert.match(out, /Demo done: 4 finished, 0 failed; 20,000 rows/);
  assert.match(out, /Verified: every row has digest = md5\(manifest\)\./);
  assert.ok(tracked.seen.size >= 2, `saw Postgres and Temporal as children (${[...tracked.seen].join(', ')})`);
  await assertAllGone(tracked.seen);
  fs.rmSync(dataDir, { recursive: true, force: true });
});

test('Ctrl-C during the demo stops the worker, Postgres and Temporal; the next npm start resumes instead of duplicating', async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bbm-start-int-'));
  const args = ['dev', '--demo', '--rows', '160000', '--repos', '8', '--capacity', '1'];
  const dev = spawnBbm(args, devEnv(dataDir));
  const tracked = trackDescendants(dev);
  await dev.waitFor(/woke the enqueuer/, 240_000);
  await dev.waitFor(/demo \d+\.\d% \|/, 60_000);
  dev.child.kill('SIGINT');
  const exit = await within(dev.exited, 90_000, () => `no exit after SIGINT:\n${dev.output()}`);
  tracked.stop();
  assert.equal(exit.code, 130, dev.output());
  assert.match(dev.output(), /SIGINT received, shutting down/);
  assert.match(dev.output(), /Demo interrupted: \d\/8 repositories done\./);
  assert.match(dev.output(), /stopped; nothing is left running\./);
  assert.ok(tracked.seen.size >= 2, `saw Postgres and Temporal as children (${[...tracked.seen].join(', ')})`);
  await assertAllGone(tracked.seen);

  const again = spawnBbm([...args, '--exit-when-done'], devEnv(dataDir));
  const tracked2 = trackDescendants(again);
  const exit2 = await within(again.exited, 300_000, () => `second run did not finish:\n${again.output()}`);
  tracked2.stop();
  const out = again.output();
  assert.equal(exit2.code, 0, out);
  assert.match(out, /demo\.images already exists \(160,000 rows, 8 repositories\): reusing it/);
  assert.match(out, /migrations: 0 defined now, 8 already defined/);
  assert.match(out, /Demo done: 8 finished, 0 failed/);
  assert.match(out, /Verified: every row has digest = md5\(manifest\)\./);
  await assertAllGone(tracked2.seen);
  fs.rmSync(dataDir, { recursive: true, force: true });
});

test('npm start in a shell whose DATABASE_URL and TEMPORAL_ADDRESS point at a stopped stack exits 5, says both are set and where they point (no password), and that unsetting them lets it run its own', async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bbm-start-stale-'));
  // Ports nothing listens on: what the exports of an earlier, stopped `npm start` point at.
  const [pgPort, temporalPort] = [await freePort(), await freePort()];
  const env = {
    ...devEnv(dataDir),
    DATABASE_URL: `postgres://postgres:hunter2@127.0.0.1:${pgPort}/bbm`,
    TEMPORAL_ADDRESS: `127.0.0.1:${temporalPort}`,
  };
  const r = await bbm(['dev', '--demo', '--exit-when-done'], env);
  assert.equal(r.code, 5, shown(r));
  const message = new RegExp(
    `^error\\[CANNOT_CONNECT\\]: DATABASE_URL=postgres://postgres:\\*\\*\\*@127\\.0\\.0\\.1:${pgPort}/bbm and TEMPORAL_ADDRESS=127\\.0\\.0\\.1:${temporalPort} are set, so bbm uses those servers instead of starting its own, but: Cannot connect to Postgres at `,
    'm',
  );
  assert.match(r.stderr, message);
  assert.match(r.stderr, /unset them \(`unset DATABASE_URL TEMPORAL_ADDRESS`\) and `npm start` runs its own Postgres and Temporal\./);
  assert.doesNotMatch(r.stdout + r.stderr, /hunter2/, 'the password never appears');
  assert.deepEqual(fs.readdirSync(dataDir), [], 'no service of its own was started meanwhile');

  // Only a stale TEMPORAL_ADDRESS: Postgres would be its own, Temporal is checked before anything starts.
  const temporalOnly = await bbm(['dev', '--demo', '--exit-when-done'], {
    ...devEnv(dataDir),
    TEMPORAL_ADDRESS: `127.0.0.1:${temporalPort}`,
  });
  assert.equal(temporalOnly.code, 5, shown(temporalOnly));
  assert.match(
    temporalOnly.stderr,
    new RegExp(`^error\\[CANNOT_CONNECT\\]: TEMPORAL_ADDRESS=127\\.0\\.0\\.1:${temporalPort} is set, so bbm uses that server`, 'm'),
  );
  assert.match(temporalOnly.stderr, /unset it \(`unset TEMPORAL_ADDRESS`\)/);
  assert.deepEqual(fs.readdirSync(dataDir), []);
  fs.rmSync(dataDir, { recursive: true, force: true });
});
