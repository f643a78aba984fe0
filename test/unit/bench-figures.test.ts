import assert from 'node:assert/strict';
import { test } from 'node:test';
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
