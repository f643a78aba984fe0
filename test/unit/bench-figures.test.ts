import assert from 'node:assert/strict';
import { test } from 'node:test';
import { splitRange } from '../../bench/bbm-run';
import { assertJobCount, expectedJobs, jobCountProblem } from '../../bench/job-count';
import { withMedian } from '../../bench/repeat';
import { withLoopRatios, type ContenderResult } from '../../bench/results';

const run = (wallMs: number) => ({ wallMs, rowsPerSecond: 1_000_000 / wallMs });

test('the median of repeated runs is the middle run, with the spread of all of them', () => {
  const m = withMedian([run(300), run(100), run(200)]);
  assert.equal(m.wallMs, 200);
  assert.deepEqual(m.spread, { runs: 3, minRowsPerSecond: 1_000_000 / 300, maxRowsPerSecond: 10_000 });
});

test('an even number of runs keeps the faster middle run, and a single run has no spread', () => {
  assert.equal(withMedian([run(400), run(100), run(300), run(200)]).wallMs, 200);
  assert.equal(withMedian([run(100)]).spread, undefined);
  assert.throws(() => withMedian([]));
});

test('contenders running N side by side are compared with N plain loops at their own batch size', () => {
  const c = (contender: ContenderResult['contender'], batch: number, repositories: number, rowsPerSecond: number) =>
    ({ contender, batch, repositories, rowsPerSecond, ratioToLoops: null }) as ContenderResult;
  const out = withLoopRatios([
    c('plain', 1000, 1, 100),
    c('plain-parallel', 1000, 2, 200),
    c('parallel', 1000, 2, 150),
    c('plain-parallel', 10000, 2, 400),
    c('graphile-parallel', 10000, 2, 100),
    c('sequential', 1000, 1, 50),
  ]);
  assert.deepEqual(
    out.map((x) => x.ratioToLoops),
    [null, 1, 0.75, 1, 0.25, null],
  );
});

test('a fixed batch size makes ceil(ids / batch) jobs per range, summed over the ranges', () => {
  assert.equal(expectedJobs([{ minValue: 1, maxValue: 2_000_000 }], 1_000), 2_000);
  assert.equal(expectedJobs(splitRange(2_000_000, 2), 1_000), 2_000);
  assert.equal(expectedJobs(splitRange(20_001, 2), 1_000), 21); // 10,001 ids (11 jobs) and 10,000 ids (10 jobs)
  assert.equal(expectedJobs([{ minValue: 5, maxValue: 5 }], 1_000), 1);
  assert.throws(() => expectedJobs([{ minValue: 2, maxValue: 1 }], 10), /empty or invalid id range/);
  assert.throws(() => expectedJobs([{ minValue: 1, maxValue: 10 }], 0), /positive integer/);
});

test('a fixed-size run that made another number of jobs than its ranges need fails the bench, naming the tuner', () => {
  assert.equal(jobCountProblem('bbm, 1 repository', 2_000, 2_000), undefined);
  assert.doesNotThrow(() => assertJobCount('bbm, 1 repository', 2_000, 2_000));
  // What happened before the bench set targetJobMs 0: the tuner grew "batch 1,000" to 57 jobs.
  assert.match(
    jobCountProblem('bbm, 1 repository', 57, 2_000) ?? '',
    /ran 57 jobs, but a fixed batch size over these ranges makes 2000.*targetJobMs: 0/,
  );
  assert.throws(() => assertJobCount('bbm, 1 repository', 57, 2_000), /bbm, 1 repository: ran 57 jobs/);
  assert.throws(() => assertJobCount('engine alone', 2_001, 2_000), /ran 2001 jobs/);
});
