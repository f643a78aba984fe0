import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import type { BenchReport } from '../bench/results';
import { createTestDatabase } from './helpers/db';

const ROOT = path.join(__dirname, '..');

/** Run `npm run bench` (tsx bench/main.ts) with `args` against the run's servers; resolves to its output. */
function runBench(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench', 'main.ts'), ...args], { cwd: ROOT, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

test('the bench in its smallest form reports every contender, sane ratios, the per-job breakdown and the load', async (t) => {
  const db = await createTestDatabase('bench');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bbm-bench-test-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const output = path.join(dir, 'result.json');
  // TEMPORAL_ADDRESS is the run's dev server (test/run.ts); DATABASE_URL makes the bench work in this database.
  const run = await runBench(['--quick', '--rows', '4000', '--noop-jobs', '10', '--tiny-repos', '3', '--output', output], {
    ...process.env,
    DATABASE_URL: db.url,
    BBM_LOG_LEVEL: 'warn',
  });
  assert.equal(run.code, 0, `bench failed:\n${run.stderr.slice(-3000)}`);

  const report = JSON.parse(fs.readFileSync(output, 'utf8')) as BenchReport;
  const kinds = report.contenders.map((c) => c.contender);
  assert.deepEqual(kinds, ['plain', 'plain-parallel', 'engine', 'graphile', 'graphile-parallel', 'sequential', 'parallel', 'tuned']);
  // Every fixed-size contender ran the batch size it is labelled with: 4 jobs of 1,000 (2 per range for N = 2).
  for (const c of report.contenders.filter((x) => x.contender !== 'tuned')) assert.equal(c.jobs, 4, `${c.label} ran ${c.jobs} jobs`);
  for (const c of report.contenders.filter((x) => x.jobSizes && x.contender !== 'tuned'))
    assert.equal(c.jobSizes?.max, 1_000, `${c.label}: jobs of ${c.jobSizes?.max} ids`);
  // The tuned row starts at 1,000 and grows: a 1,000-row job takes far less than its 500 ms target.
  const tuned = report.contenders.find((x) => x.contender === 'tuned');
  assert.ok(tuned?.jobSizes && tuned.jobSizes.max > 1_000, `the tuned row's jobs: ${JSON.stringify(tuned?.jobSizes)} ids`);
  for (const c of report.contenders) {
    assert.equal(c.rows, 4000, `${c.label} updated every row`);
    assert.ok(c.ratio !== null && Number.isFinite(c.ratio) && c.ratio > 0, `${c.label}: ratio ${c.ratio} against the plain loop`);
    if (c.repositories > 1) assert.ok(c.ratioToLoops !== null && c.ratioToLoops > 0, `${c.label}: ratio ${c.ratioToLoops} against 2 loops`);
  }
  // Jobs after a round's first are claimed from run-aheads, and each bbm row reports its own claims.
  const sequential = report.contenders.find((c) => c.contender === 'sequential');
  assert.ok(sequential?.runAheadClaims && sequential.runAheadClaims.claims > 0, `claims: ${JSON.stringify(sequential?.runAheadClaims)}`);
  assert.ok(sequential.runAheadClaims.readyShare >= 0 && sequential.runAheadClaims.readyShare <= 1);
  assert.ok(report.noop.engineStatementsPerJob > 0 && report.noop.engineMsPerJob > 0, 'the no-op job is broken down into engine SQL');
  // The SDK floor ran its own workflow of as many local activities as the no-op migration has jobs.
  const floor = report.noop.sdkFloor;
  assert.ok('msPerActivity' in floor, `the SDK floor was not measured: ${JSON.stringify(floor)}`);
  assert.equal(floor.activities, 10);
  assert.ok(floor.msPerActivity > 0 && floor.wallMs > 0, `SDK floor: ${JSON.stringify(floor)}`);
  assert.equal(report.options.quick, true);

  for (const line of [
    /graphile-worker, 1 worker/,
    /graphile-worker, 2 workers/,
    /2 plain loops in parallel/,
    /bbm, 2 repositories\n.*[\d.]+x \([\d.]+x of 2 loops\)\n/, // the ratio table's last column
    /bbm, tuned \(target 500 ms\)/,
    /per-job breakdown/,
    /batch 1000: .*engine SQL [\d.]+ statements, [\d.]+ ms\/job .*Temporal ([\d.]+ ms\/job|not measurable)/,
    /load average .* at start, .* at the end/,
    /jobs claimed from a run-ahead .*: bbm, 1 repository \(b\) \d+ claims, \d+% ready, mean wait [\d.]+ ms/,
    /Temporal SDK floor .*: [\d.]+ ms per local activity .*; bbm's no-op job: Temporal -?[\d.]+ ms/,
    /targets \(issue 12\)/,
  ])
    assert.match(run.stdout, line);
  assert.match(run.stderr, /load average \(1, 5, 15 min\) at start: /);
});
