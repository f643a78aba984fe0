import assert from 'node:assert/strict';
import { test } from 'node:test';
import { REPOSITORY_KEY_PATTERN, repositoryKeyProblem } from '../../src/contract/ids';
import { progressOf } from '../../src/engine/progress';
import type { MigrationProgress } from '../../src/engine/types';
import { ErrorCode, isBbmError } from '../../src/errors';
import { describeCounts, overall, transitionApplied, transitionTargets } from '../../src/repository/summary';
import { RepositoryService } from '../../src/repository/service';
import type { MigrationRow } from '../../src/store/types';

test('a repository key is 1 to 200 printable characters of letters, digits and _ . : / @ -, starting with a letter or digit', () => {
  for (const ok of ['a', 'public.images', 'team/a', 'tenant-42', 'x@y:z_1', 'A'.repeat(200)]) {
    assert.equal(repositoryKeyProblem(ok), undefined, ok);
    assert.ok(REPOSITORY_KEY_PATTERN.test(ok));
  }
  for (const bad of ['', ' a', '-a', 'a b', "a'; DROP TABLE x;--", 'é', 'A'.repeat(201), 42, null, undefined]) {
    assert.match(
      repositoryKeyProblem(bad) ?? '',
      /^Repository key .* is invalid: use letters, digits, _ \. : \/ @ - \(up to 200\)\.$/,
      String(bad),
    );
  }
});

test('the service refuses a bad key with INVALID_INPUT before it opens anything', async () => {
  const opened: string[] = [];
  const service = new RepositoryService({
    db: () => (opened.push('db'), Promise.reject(new Error('no database in unit tests'))),
    client: () => (opened.push('client'), Promise.reject(new Error('no Temporal in unit tests'))),
    taskQueue: 'unit',
  });
  for (const call of [() => service.start('bad key!'), () => service.status('bad key!'), () => service.cancel('bad key!', 1)]) {
    await assert.rejects(call(), (err: unknown) => isBbmError(err, ErrorCode.INVALID_INPUT) && /"bad key!" is invalid/.test(err.message));
  }
  assert.deepEqual(opened, []);
});

function progress(p: Partial<MigrationProgress> & Pick<MigrationProgress, 'status' | 'percent'>): MigrationProgress {
  return {
    id: '1',
    name: 'm',
    repository: 'r',
    failure: null,
    rowsProcessed: '0',
    totalEstimate: null,
    jobs: { active: 0, finished: 0, failed: 0 },
    currentRange: null,
    lastError: null,
    rowsPerSecond: null,
    etaSeconds: null,
    batchSize: 100,
    subBatchSize: null,
    subBatchPauseMs: 100,
    startedAt: null,
    finishedAt: null,
    ...p,
  };
}

test('overall progress weights each migration by its row estimate and counts statuses in reading order', () => {
  const all = overall([
    progress({ status: 'finished', percent: 100, totalEstimate: '300', rowsProcessed: '300' }),
    progress({ status: 'running', percent: 50, totalEstimate: '100', rowsProcessed: '50' }),
    progress({ status: 'failed', percent: 0, totalEstimate: null }),
  ]);
  // (300 * 1 + 100 * 0.5 + 1 * 0) / 401
  assert.equal(all.fraction, 350 / 401);
  assert.equal(all.rows, 350n);
  assert.equal(all.detail, '1 finished, 1 running, 1 failed');
  assert.deepEqual(overall([]), { fraction: 0, rows: 0n, detail: '' });
});

test('status counts read finished, running, active, paused, failed, then others alphabetically, without zeros', () => {
  assert.equal(
    describeCounts({ failed: 1, paused: 0, 'unknown(9)': 2, finished: 3, active: 1 }),
    '3 finished, 1 active, 1 failed, 2 unknown(9)',
  );
  assert.equal(describeCounts({}), '');
});

test('pause targets active and running migrations and resume paused ones, grouped by repository in key order', () => {
  const migrations = [
    { name: 'b1', repository: 'b', status: 'running' },
    { name: 'a1', repository: 'a', status: 'active' },
    { name: 'a2', repository: 'a', status: 'paused' },
    { name: 'a3', repository: 'a', status: 'finished' },
    { name: 'c1', repository: 'c', status: 'failed' },
    { name: 'a4', repository: 'a', status: 'running' },
  ];
  assert.deepEqual(
    [...transitionTargets('pause', migrations)],
    [
      ['a', ['a1', 'a4']],
      ['b', ['b1']],
    ],
  );
  assert.deepEqual([...transitionTargets('resume', migrations)], [['a', ['a2']]]);
  assert.deepEqual([...transitionTargets('pause', migrations, 'b1')], [['b', ['b1']]]);
  assert.deepEqual([...transitionTargets('pause', migrations, 'a2')], [], 'a paused migration is not paused again');
});

function row(m: Partial<MigrationRow>): MigrationRow {
  return {
    id: '7',
    name: 'm',
    repository: 'r',
    work: 'increment',
    tableName: 'items',
    columnName: 'id',
    workArgs: {},
    targetJobMs: 0,
    minBatchSize: 1,
    maxBatchSize: 1_000_000,
    tunerState: { samples: [], afterFailure: false },
    pauseRequested: false,
    pausedByCancel: false,
    minValue: 1n,
    maxValue: 1000n,
    batchSize: 100,
    subBatchSize: null,
    subBatchPauseMs: 100,
    batchingStrategy: 'serial',
    status: 4,
    failureErrorCode: null,
    totalTupleCount: 1000n,
    rowsProcessed: 0n,
    jobsFinished: 0,
    coveredIds: 0n,
    createdAt: new Date('2026-01-01T00:00:00Z'),
    updatedAt: new Date('2026-01-01T00:00:00Z'),
    startedAt: null,
    finishedAt: null,
    ...m,
  };
}

test('progress from a row and its job counts: id coverage for serial, capped at 99.9 until finished, with rate and ETA', () => {
  const counts = { active: 1, failed: 2, lastRange: { start: '401', end: '500', cursor: null }, lastError: null };
  const startedAt = new Date('2026-01-01T00:00:00Z');
  const now = new Date('2026-01-01T00:00:10Z');
  const half = progressOf(row({ coveredIds: 500n, rowsProcessed: 400n, startedAt, jobsFinished: 5 }), counts, now);
  assert.equal(half.percent, 50);
  assert.equal(half.rowsPerSecond, 40);
  assert.equal(half.etaSeconds, 10);
  assert.deepEqual(half.jobs, { active: 1, finished: 5, failed: 2 });
  assert.deepEqual(half.currentRange, { start: '401', end: '500', cursor: null });
  assert.equal(progressOf(row({ coveredIds: 1000n, rowsProcessed: 1000n, startedAt }), counts, now).percent, 99.9);
  const done = progressOf(row({ coveredIds: 1000n, status: 2, startedAt, finishedAt: now }), counts, now);
  assert.deepEqual([done.percent, done.status, done.etaSeconds], [100, 'finished', 0]);
  const nulls = progressOf(row({ batchingStrategy: 'null', maxValue: null, totalTupleCount: 200n, rowsProcessed: 50n }), counts, now);
  assert.equal(nulls.percent, 25, 'the NULL strategy measures rows over the estimate');
});

test('a resume counts as applied once the migration is no longer paused, even if its workflow already started a job; a pause only when paused', () => {
  assert.deepEqual(
    ['active', 'running', 'finished', 'paused'].map((s) => transitionApplied('resume', s)),
    [true, true, true, false],
  );
  assert.deepEqual(
    ['paused', 'active', 'running', 'finished'].map((s) => transitionApplied('pause', s)),
    [true, false, false, false],
  );
});
