import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cpuBudgets, formatCpuBudgets } from '../../bench/cpu-budget';
import type { CpuSeconds } from '../../bench/cpu';
import type { ContenderResult } from '../../bench/results';

const cpu = (postgres: number, worker: number, temporal: number, bench: number, other = 0): CpuSeconds => ({
  postgres,
  worker,
  temporal,
  bench,
  other,
});
const row = (contender: ContenderResult['contender'], batch: number, wallMs: number, c: CpuSeconds, ratioToLoops: number | null) =>
  ({ contender, batch, repositories: 2, jobs: 2_000, wallMs, cpu: c, ratioToLoops }) as ContenderResult;

test('the N-repository ceiling is the loops’ CPU per job over bbm’s, scaled by the cores the loops left idle', () => {
  // The CPU of the full bench run of 593a36f at batch 1,000 (bench/results/latest.json of that run).
  const [b] = cpuBudgets(
    [
      row('plain-parallel', 1_000, 8_924, cpu(15.1, 0.04, 0.02, 0.42, 0.06), 1),
      row('parallel', 1_000, 21_917, cpu(22.46, 12.59, 1.15, 0.22, 0.24), 0.41),
    ],
    2,
    3.35,
  );
  assert.ok(b);
  assert.equal(b.loopsMsPerJob.toFixed(2), '7.79'); // (15.1 + 0.04 + 0.02 + 0.42) s / 2,000 jobs; `other` left out
  assert.equal(b.loopsCores.toFixed(2), '1.75');
  assert.equal(b.bbm.total.toFixed(2), '18.21');
  assert.equal(b.bbm.worker.toFixed(2), '6.29'); // 12.59 s / 2,000 jobs
  // (2 / 1.746) x 7.79 / 18.21 and, at the SDK floor, (2 / 1.746) x 7.79 / (7.79 + 3.35)
  assert.equal(b.ceiling.toFixed(2), '0.49');
  assert.equal(b.floorCeiling?.toFixed(2), '0.80');
  assert.equal(b.measured, 0.41);
  const [line] = formatCpuBudgets([b], 2).slice(1);
  assert.match(
    line ?? '',
    /batch 1000: 2 loops 7\.79 ms .* bbm 18\.21 ms .* at most 0\.49x of 2 loops, measured 0\.41x; .* at most 0\.80x/,
  );
});

test('no budget without both N-wide rows and their CPU, and no floor bound when the floor was not measured', () => {
  const loops = row('plain-parallel', 1_000, 1_000, cpu(1, 0, 0, 0), 1);
  const bbm = row('parallel', 1_000, 2_000, cpu(1, 1, 0, 0), 0.5);
  assert.deepEqual(cpuBudgets([bbm], 2), []);
  assert.deepEqual(cpuBudgets([loops, { ...bbm, cpu: undefined }], 2), []);
  assert.deepEqual(cpuBudgets([loops, { ...bbm, batch: 10_000 }], 2), []);
  const [b] = cpuBudgets([loops, bbm], 2);
  assert.equal(b?.floorCeiling, undefined);
  assert.equal(b?.ceiling, 1); // (2 cores / 1 busy) x 0.5 ms / 1 ms
  assert.deepEqual(formatCpuBudgets([], 2), []);
});
