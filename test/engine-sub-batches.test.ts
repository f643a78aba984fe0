import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FailureCode, JobStatus, MigrationStatus } from '../src/engine/constants';
import { executeJob } from '../src/engine/execute-job';
import { findJob } from '../src/engine/find-job';
import type { WorkContext } from '../src/engine/registry';
import { ErrorCode } from '../src/errors';
import { createItems, createTestDatabase } from './helpers/db';
import { counters, define, JOB_TIMEOUT_MS, jobsOf, migration, REPO, registryWith, runToEnd, work, type Engine } from './helpers/engine';
import { assertNoSubBatchTwice, installSubBatchLog, subBatchLog } from './helpers/sub-batches';

/** Increments `counter` over the range it is given, recording each call's range. */
function recordingIncrement(calls: string[], fail?: (call: number) => boolean) {
  return work('rec', async (ctx: WorkContext) => {
    calls.push(`${ctx.start}-${ctx.end}`);
    const r = await ctx.client.query(`UPDATE ${ctx.quotedTable} SET counter = counter + 1 WHERE ${ctx.quotedColumn} BETWEEN $1 AND $2`, [
      ctx.start,
      ctx.end,
    ]);
    if (fail?.(calls.length)) throw new Error(`boom ${ctx.start}-${ctx.end}`);
    return r.rowCount ?? 0;
  });
}

async function setup(label: string, ids: number | number[], calls: string[], fail?: (call: number) => boolean): Promise<Engine> {
  const db = await createTestDatabase(label);
  await createItems(db.pool, 'items', ids);
  await installSubBatchLog(db.pool, 'items');
  return { pool: db.pool, registry: registryWith(recordingIncrement(calls, fail)) };
}

test('a job in sub-batches commits each one on its own with its cursor, and the data, the log and the counters agree', async () => {
  const calls: string[] = [];
  const engine = await setup('sbcommit', 1000, calls);
  await define(engine, { name: 'm', work: 'rec', args: {}, batchSize: 1000, subBatchSize: 300, subBatchPauseMs: 0 });
  const run = await runToEnd(engine);
  assert.deepEqual(run.errors, []);
  assert.deepEqual(calls, ['1-300', '301-600', '601-900', '901-1000']);
  const log = await subBatchLog(engine.pool);
  assert.deepEqual(
    log.map((s) => [s.first, s.last, s.rows]),
    [
      [1, 300, 300],
      [301, 600, 300],
      [601, 900, 300],
      [901, 1000, 100],
    ],
  );
  assertNoSubBatchTwice(log);
  const [job] = await jobsOf(engine.pool, 'm');
  assert.deepEqual(
    [job?.status, job?.attempts, job?.subBatches, job?.cursorId, job?.rowsAffected],
    [JobStatus.FINISHED, 1, 4, 1000n, 1000n],
  );
  const m = await migration(engine.pool, 'm');
  assert.deepEqual([m.status, m.rowsProcessed, m.coveredIds, m.jobsFinished], [MigrationStatus.FINISHED, 1000n, 1000n, 1]);
  assert.deepEqual(await counters(engine.pool), { lo: 1, hi: 1, n: 1000 });
});

test('sub-batches over sparse ids hold at most the sub-batch size of existing rows each', async () => {
  const calls: string[] = [];
  const odd = Array.from({ length: 500 }, (_, i) => 2 * i + 1); // 1, 3, ..., 999
  const engine = await setup('sbsparse', odd, calls);
  await define(engine, { name: 'm', work: 'rec', args: {}, batchSize: 250, subBatchSize: 100, subBatchPauseMs: 0 });
  await runToEnd(engine);
  assert.deepEqual(calls, ['1-199', '200-399', '400-499', '500-699', '700-899', '900-999']);
  assert.deepEqual(
    (await subBatchLog(engine.pool)).map((s) => s.rows),
    [100, 100, 50, 100, 100, 50],
  );
  const m = await migration(engine.pool, 'm');
  assert.deepEqual([m.rowsProcessed, m.coveredIds, m.jobsFinished], [500n, 999n, 2]);
  assert.deepEqual(await counters(engine.pool), { lo: 1, hi: 1, n: 500 });
});

for (const [what, subBatchSize] of [
  ['no sub-batch size', undefined],
  ['a sub-batch size equal to the batch size', 100],
] as const) {
  test(`with ${what} a job is one transaction and one work call over its whole range, as before sub-batches`, async () => {
    const calls: string[] = [];
    const engine = await setup(`sbwhole${subBatchSize ?? 0}`, 250, calls);
    await define(engine, { name: 'm', work: 'rec', args: {}, batchSize: 100, subBatchSize });
    await runToEnd(engine);
    assert.deepEqual(calls, ['1-100', '101-200', '201-250']);
    const log = await subBatchLog(engine.pool);
    assert.equal(new Set(log.map((s) => s.xid)).size, 3, 'one transaction per job');
    assert.deepEqual(
      (await jobsOf(engine.pool, 'm')).map((j) => [j.subBatches, j.cursorId, j.attempts]),
      [
        [0, null, 1],
        [0, null, 1],
        [0, null, 1],
      ],
    );
    assert.deepEqual(await counters(engine.pool), { lo: 1, hi: 1, n: 250 });
  });
}

test('a failing sub-batch keeps the earlier ones committed, records the failure, and the retry resumes after the cursor', async () => {
  const calls: string[] = [];
  const engine = await setup('sbfail', 500, calls, (call) => call === 3);
  await define(engine, { name: 'm', work: 'rec', args: {}, batchSize: 500, subBatchSize: 100, subBatchPauseMs: 0 });
  const found = await findJob(engine.pool, { repository: REPO, maxJobAttempts: 3 });
  assert.ok(found.job);
  const run = (): ReturnType<typeof executeJob> =>
    executeJob(engine, { jobId: found.job?.jobId ?? '0', maxJobAttempts: 3, jobTimeoutMs: JOB_TIMEOUT_MS });
  await assert.rejects(run(), { code: ErrorCode.WORK_FAILED, message: /boom 201-300/ });

  assert.deepEqual(
    (await subBatchLog(engine.pool)).map((s) => [s.first, s.last]),
    [
      [1, 100],
      [101, 200],
    ],
    'the two sub-batches before the failure stay committed, the failing one rolled back',
  );
  const [failed] = await jobsOf(engine.pool, 'm');
  assert.deepEqual(
    [failed?.status, failed?.attempts, failed?.cursorId, failed?.rowsAffected, failed?.subBatches, failed?.lastError],
    [JobStatus.FAILED, 1, 200n, 200n, 2, 'boom 201-300'],
  );
  assert.equal((await migration(engine.pool, 'm')).rowsProcessed, 200n, 'committed sub-batches are counted at once');

  const result = await run();
  assert.deepEqual([result.outcome, result.rows, result.attempts], ['finished', '500', 2]);
  assert.deepEqual(calls, ['1-100', '101-200', '201-300', '201-300', '301-400', '401-500']);
  const log = await subBatchLog(engine.pool);
  assertNoSubBatchTwice(log);
  assert.equal(log.length, 5);
  const [done] = await jobsOf(engine.pool, 'm');
  assert.deepEqual([done?.status, done?.attempts, done?.lastError, done?.subBatches], [JobStatus.FINISHED, 2, null, 5]);
  assert.deepEqual(await counters(engine.pool), { lo: 1, hi: 1, n: 500 });
  assert.equal((await migration(engine.pool, 'm')).rowsProcessed, 500n);
});

test('the NULL strategy fills a job budget of batch-size rows in sub-batches of the next NULL rows', async () => {
  const db = await createTestDatabase('sbnull');
  await createItems(db.pool, 'items', 250);
  await db.pool.query('ALTER TABLE items ALTER COLUMN counter DROP NOT NULL, ALTER COLUMN counter DROP DEFAULT');
  await db.pool.query('UPDATE items SET counter = NULL');
  await db.pool.query('CREATE INDEX items_counter_null ON items (counter) WHERE counter IS NULL');
  await installSubBatchLog(db.pool, 'items');
  const engine: Engine = { pool: db.pool, registry: registryWith() };
  await define(engine, {
    name: 'm',
    work: 'increment',
    column: 'counter',
    strategy: 'null',
    batchSize: 100,
    subBatchSize: 30,
    subBatchPauseMs: 0,
    args: { target: 'counter' },
  });
  const run = await runToEnd(engine);
  assert.deepEqual(run.errors, []);
  assert.deepEqual(
    (await subBatchLog(db.pool)).map((s) => s.rows),
    [30, 30, 30, 10, 30, 30, 30, 10, 30, 20],
  );
  assertNoSubBatchTwice(await subBatchLog(db.pool));
  assert.deepEqual(
    (await jobsOf(db.pool, 'm')).map((j) => [j.rowsAffected, j.subBatches, j.status]),
    [
      [100n, 4, JobStatus.FINISHED],
      [100n, 4, JobStatus.FINISHED],
      [50n, 2, JobStatus.FINISHED],
    ],
  );
  const { rows } = await db.pool.query('SELECT count(*) FILTER (WHERE counter = 1)::int AS once, count(*)::int AS n FROM items');
  assert.deepEqual(rows[0], { once: 250, n: 250 });
  assert.equal((await migration(db.pool, 'm')).rowsProcessed, 250n);
});

test('a NULL-strategy sub-batch locks only its own rows, and one that leaves a row NULL fails with no_progress while the earlier ones stay', async () => {
  const db = await createTestDatabase('sbnullstay');
  await createItems(db.pool, 'items', 100);
  await db.pool.query('ALTER TABLE items ALTER COLUMN counter DROP NOT NULL, ALTER COLUMN counter DROP DEFAULT');
  await db.pool.query('UPDATE items SET counter = NULL');
  await db.pool.query('CREATE INDEX items_counter_null ON items (counter) WHERE counter IS NULL');
  const lockable: number[] = [];
  let calls = 0;
  // Fills its rows, except from the second call on, where it leaves the lowest id of ctx.where NULL.
  const fill = work('fill', async (ctx) => {
    calls += 1;
    // From another connection: the NULL rows no transaction holds while this sub-batch runs.
    const free = await db.pool.query(
      'SELECT count(*)::int AS n FROM (SELECT id FROM items WHERE counter IS NULL FOR UPDATE SKIP LOCKED) s',
    );
    lockable.push(free.rows[0].n);
    const skip = calls >= 2 ? `AND id <> (SELECT min(id) FROM ${ctx.quotedTable} WHERE ${ctx.where.sql})` : '';
    const r = await ctx.client.query(`UPDATE ${ctx.quotedTable} SET counter = 1 WHERE ${ctx.where.sql} ${skip}`, ctx.where.values);
    return r.rowCount ?? 0;
  });
  const engine: Engine = { pool: db.pool, registry: registryWith(fill) };
  await define(engine, {
    name: 'm',
    work: 'fill',
    column: 'counter',
    strategy: 'null',
    batchSize: 100,
    subBatchSize: 30,
    subBatchPauseMs: 0,
  });
  const run = await runToEnd(engine, { maxJobAttempts: 2 });
  assert.deepEqual(run.errors, [ErrorCode.NO_PROGRESS, ErrorCode.MAX_JOB_RETRY]);
  assert.deepEqual(lockable, [70, 40, 40], 'each sub-batch holds its own 30 rows and only those, beside the 30 committed before');
  const [job] = await jobsOf(db.pool, 'm');
  assert.deepEqual(
    [job?.status, job?.failureErrorCode, job?.attempts, job?.subBatches, job?.rowsAffected],
    [JobStatus.FAILED, FailureCode.NO_PROGRESS, 2, 1, 30n],
  );
  assert.match(job?.lastError ?? '', /no_progress: 1 of the job's 30 row\(s\) still have counter IS NULL/);
  const m = await migration(db.pool, 'm');
  assert.deepEqual([m.status, m.failureErrorCode, m.rowsProcessed], [MigrationStatus.FAILED, FailureCode.MAX_JOB_RETRY, 30n]);
  const { rows } = await db.pool.query(
    'SELECT count(*) FILTER (WHERE counter = 1)::int AS filled, count(*) FILTER (WHERE counter IS NULL)::int AS left FROM items',
  );
  assert.deepEqual(rows[0], { filled: 30, left: 70 }, 'the failing sub-batches were rolled back whole, the rows they did fill included');
});
