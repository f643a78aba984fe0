import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FailureCode, JobStatus, MigrationStatus } from '../src/engine/constants';
import { pauseMigrations, resumeMigrations } from '../src/engine/control';
import { findJob } from '../src/engine/find-job';
import { migrationProgress } from '../src/engine/progress';
import { createItems, createTestDatabase } from './helpers/db';
import { counters, define, jobSummary, jobsOf, migration, REPO, registryWith, runToEnd, step, type Engine } from './helpers/engine';

const { ACTIVE, FINISHED: DONE } = JobStatus;

async function engineWithItems(label: string, ids: number[] | number): Promise<Engine> {
  const db = await createTestDatabase(label);
  await createItems(db.pool, 'items', ids);
  return { pool: db.pool, registry: registryWith() };
}

test('ids 1..93 with batch size 50 finish as jobs [1-50] and [51-93], each attempted once', async () => {
  const engine = await engineWithItems('find93', 93);
  await define(engine, { name: 'm', batchSize: 50 });
  const run = await runToEnd(engine, { maxJobAttempts: 5 });
  assert.deepEqual(run.errors, []);
  assert.deepEqual(await jobSummary(engine.pool, 'm'), [
    ['1', '50', 1, DONE],
    ['51', '93', 1, DONE],
  ]);
  const m = await migration(engine.pool, 'm');
  assert.equal(m.status, MigrationStatus.FINISHED);
  assert.equal(m.failureErrorCode, null);
  assert.equal(m.rowsProcessed, 93n);
  assert.deepEqual(await counters(engine.pool), { lo: 1, hi: 1, n: 93 });
});

test('two runners at once, unfenced or serialised by the lease, give the same jobs and touch every row exactly once', async () => {
  for (const fenced of [false, true]) {
    const engine = await engineWithItems(fenced ? 'find2lease' : 'find2rows', 93);
    await define(engine, { name: 'm', batchSize: 10 });
    const runners = ['a', 'b'].map((holder) => runToEnd(engine, { maxJobAttempts: 5, holder: fenced ? holder : undefined }));
    const runs = await Promise.all(runners);
    assert.deepEqual(
      runs.flatMap((r) => r.errors),
      [],
      `fenced=${fenced}`,
    );
    const expected = Array.from({ length: 10 }, (_, i) => [String(i * 10 + 1), String(Math.min(93, i * 10 + 10)), 1, DONE]);
    assert.deepEqual(await jobSummary(engine.pool, 'm'), expected, `fenced=${fenced}`);
    assert.equal((await migration(engine.pool, 'm')).status, MigrationStatus.FINISHED);
    assert.deepEqual(await counters(engine.pool), { lo: 1, hi: 1, n: 93 }, `fenced=${fenced}`);
  }
});

test('a range never holds more than batch size rows, even when one row is left past it', async () => {
  const engine = await engineWithItems('find51', 51);
  await define(engine, { name: 'm', batchSize: 50 });
  await runToEnd(engine);
  assert.deepEqual(await jobSummary(engine.pool, 'm'), [
    ['1', '50', 1, DONE],
    ['51', '51', 1, DONE],
  ]);
});

test('sparse ids make no empty jobs: every range holds rows', async () => {
  const engine = await engineWithItems('findsparse', [1, 2, 3, 1000, 1001, 5000]);
  await define(engine, { name: 'm', batchSize: 2 });
  await runToEnd(engine);
  const jobs = await jobsOf(engine.pool, 'm');
  assert.deepEqual(
    jobs.map((j) => [j.minValue, j.maxValue, j.rowsAffected]),
    [
      [1n, 2n, 2n],
      [3n, 1000n, 2n],
      [1001n, 5000n, 2n],
    ],
  );
  assert.deepEqual(await counters(engine.pool), { lo: 1, hi: 1, n: 6 });
});

test('a table dropped after definition fails the migration with invalid_table when a job is looked for', async () => {
  const engine = await engineWithItems('findtable', 10);
  const m = await define(engine, { name: 'm' });
  await engine.pool.query('DROP TABLE items');
  const found = await findJob(engine.pool, { repository: REPO, maxJobAttempts: 3 });
  assert.equal(found.job, null);
  assert.deepEqual(found.failed, [{ id: m.id, name: 'm', failure: 'invalid_table' }]);
  const after = await migration(engine.pool, 'm');
  assert.equal(after.status, MigrationStatus.FAILED);
  assert.equal(after.failureErrorCode, FailureCode.INVALID_TABLE);
  assert.equal((await jobsOf(engine.pool, 'm')).length, 0);
});

test('a column dropped after definition fails the migration with invalid_column when a job is looked for', async () => {
  const engine = await engineWithItems('findcolumn', 10);
  await define(engine, { name: 'm' });
  await engine.pool.query('ALTER TABLE items DROP COLUMN id');
  const found = await findJob(engine.pool, { repository: REPO, maxJobAttempts: 3 });
  assert.equal(found.job, null);
  assert.deepEqual(
    found.failed.map((f) => f.failure),
    ['invalid_column'],
  );
  const after = await migration(engine.pool, 'm');
  assert.equal(after.status, MigrationStatus.FAILED);
  assert.equal(after.failureErrorCode, FailureCode.INVALID_COLUMN);
});

test('an unknown batching strategy found in the table fails the migration permanently with invalid_batching_strategy', async () => {
  const engine = await engineWithItems('findstrategy', 10);
  await engine.pool.query(
    `INSERT INTO bbm.migrations (name, repository, job_name, table_name, column_name, max_value, batch_size, batching_strategy)
     VALUES ('m', $1, 'increment', 'public.items', 'id', 10, 5, 'bogus')`,
    [REPO],
  );
  const found = await findJob(engine.pool, { repository: REPO, maxJobAttempts: 3 });
  assert.equal(found.job, null);
  assert.deepEqual(
    found.failed.map((f) => f.failure),
    ['invalid_batching_strategy'],
  );
  const after = await migration(engine.pool, 'm');
  assert.equal(after.status, MigrationStatus.FAILED);
  assert.equal(after.failureErrorCode, FailureCode.INVALID_BATCHING_STRATEGY);
  const again = await findJob(engine.pool, { repository: REPO, maxJobAttempts: 3, retryFailed: true });
  assert.equal(again.job, null, 'a re-run fails it again instead of looping');
  assert.equal((await migration(engine.pool, 'm')).status, MigrationStatus.FAILED);
  assert.equal((await jobsOf(engine.pool, 'm')).length, 0);
  assert.deepEqual(await counters(engine.pool), { lo: 0, hi: 0, n: 10 });
});

test('pause leaves finished migrations alone, paused ones are never picked, resume makes them active, and running beats a lower-id active one', async () => {
  const engine = await engineWithItems('findpause', 20);
  await define(engine, { name: 'm0', batchSize: 20 });
  await runToEnd(engine);
  const done = await migration(engine.pool, 'm0');
  assert.equal(done.status, MigrationStatus.FINISHED);
  await define(engine, { name: 'm1', batchSize: 5, paused: true });
  await define(engine, { name: 'm2', batchSize: 5 });

  assert.deepEqual(await pauseMigrations(engine.pool, { repository: REPO }), ['m2']);
  assert.deepEqual(await pauseMigrations(engine.pool, { name: 'm0' }), []);
  const still = await migration(engine.pool, 'm0');
  assert.equal(still.status, MigrationStatus.FINISHED);
  assert.deepEqual(still.finishedAt, done.finishedAt);

  const none = await findJob(engine.pool, { repository: REPO, maxJobAttempts: 3 });
  assert.deepEqual([none.job, none.finished, none.failed], [null, [], []]);

  assert.deepEqual(await resumeMigrations(engine.pool, { name: 'm2' }), ['m2']);
  assert.equal((await migration(engine.pool, 'm2')).status, MigrationStatus.ACTIVE);
  assert.equal((await step(engine)).job?.migrationName, 'm2');
  assert.equal((await migration(engine.pool, 'm2')).status, MigrationStatus.RUNNING);

  assert.deepEqual(await resumeMigrations(engine.pool, { repository: REPO }), ['m1']);
  assert.equal((await migration(engine.pool, 'm1')).status, MigrationStatus.ACTIVE);
  const next = await findJob(engine.pool, { repository: REPO, maxJobAttempts: 3 });
  assert.equal(next.job?.migrationName, 'm2', 'the running migration comes before the lower-id active one');
  assert.deepEqual((await jobsOf(engine.pool, 'm1')).length, 0);
  assert.equal((await migration(engine.pool, 'm0')).status, MigrationStatus.FINISHED);
});

test('a job left active by an interrupted run is picked again before any new range', async () => {
  const engine = await engineWithItems('findactive', 30);
  await define(engine, { name: 'm', batchSize: 10 });
  const first = await findJob(engine.pool, { repository: REPO, maxJobAttempts: 3 });
  const again = await findJob(engine.pool, { repository: REPO, maxJobAttempts: 3 });
  assert.equal(again.job?.jobId, first.job?.jobId);
  assert.deepEqual(await jobSummary(engine.pool, 'm'), [['1', '10', 0, ACTIVE]]);
});

test('progress reads 100 only once finished and is capped at 99.9 while every range is done but the migration is not', async () => {
  const engine = await engineWithItems('findprogress', 93);
  const m = await define(engine, { name: 'm', batchSize: 50 });
  assert.equal((await migrationProgress(engine.pool, m.id))?.percent, 0);
  await step(engine);
  assert.equal((await migrationProgress(engine.pool, m.id))?.percent, 53.8);
  await step(engine);
  const allDone = await migrationProgress(engine.pool, m.id);
  assert.equal(allDone?.status, 'running');
  assert.deepEqual(allDone?.jobs, { active: 0, finished: 2, failed: 0 });
  assert.equal(allDone?.percent, 99.9);
  const last = await findJob(engine.pool, { repository: REPO, maxJobAttempts: 3 });
  assert.deepEqual(
    last.finished.map((f) => f.name),
    ['m'],
  );
  const finished = await migrationProgress(engine.pool, m.id);
  assert.equal(finished?.status, 'finished');
  assert.equal(finished?.percent, 100);
});

test('a re-run puts a failed migration without failed jobs back to running, and it fails again if its table is still missing', async () => {
  const engine = await engineWithItems('findrerun', 20);
  await define(engine, { name: 'm', batchSize: 10 });
  await engine.pool.query('ALTER TABLE items RENAME TO items_away');
  assert.deepEqual(
    (await findJob(engine.pool, { repository: REPO, maxJobAttempts: 3, retryFailed: true })).failed.map((f) => f.failure),
    ['invalid_table'],
  );
  assert.deepEqual(
    (await findJob(engine.pool, { repository: REPO, maxJobAttempts: 3, retryFailed: true })).failed.map((f) => f.failure),
    ['invalid_table'],
  );
  await engine.pool.query('ALTER TABLE items_away RENAME TO items');
  assert.equal((await findJob(engine.pool, { repository: REPO, maxJobAttempts: 3 })).job, null, 'without retryFailed it stays failed');
  const run = await runToEnd(engine, { retryFailed: true });
  assert.deepEqual([run.steps.length, run.errors], [2, []]);
  const m = await migration(engine.pool, 'm');
  assert.deepEqual([m.status, m.failureErrorCode], [MigrationStatus.FINISHED, null]);
  assert.deepEqual(await counters(engine.pool), { lo: 1, hi: 1, n: 20 });
});
