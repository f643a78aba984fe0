import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FailureCode, JobStatus, MigrationStatus } from '../src/engine/constants';
import { ErrorCode } from '../src/errors';
import { createTestDatabase } from './helpers/db';
import { define, jobsOf, migration, registryWith, runToEnd, work, type Engine } from './helpers/engine';

const { FINISHED: DONE, FAILED } = JobStatus;

/** The table: `t (id, src, dst)` with a partial index on the NULLs of dst, holding `rows` (id, src). */
async function engineWithRows(label: string, rows: [number, string | null][], extra = registryWith()): Promise<Engine> {
  const db = await createTestDatabase(label);
  await db.pool.query('CREATE TABLE t (id bigint PRIMARY KEY, src text, dst text)');
  await db.pool.query('CREATE INDEX ON t (dst) WHERE dst IS NULL');
  await db.pool.query('INSERT INTO t (id, src) SELECT * FROM unnest($1::bigint[], $2::text[])', [
    rows.map((r) => r[0]),
    rows.map((r) => r[1]),
  ]);
  return { pool: db.pool, registry: extra };
}

const FILL = { table: 't', column: 'dst', strategy: 'null', work: 'copy_column', args: { from: 'src' } };

test('a NULL-strategy job that leaves its only row NULL fails with no_progress naming the count, and the migration ends failed', async () => {
  const engine = await engineWithRows('nullstay', [[1, null]]);
  await define(engine, { name: 'm', ...FILL, batchSize: 1 });
  const run = await runToEnd(engine, { maxJobAttempts: 3, maxSteps: 20 });
  assert.deepEqual(run.errors, [ErrorCode.NO_PROGRESS, ErrorCode.NO_PROGRESS, ErrorCode.MAX_JOB_RETRY]);
  const jobs = await jobsOf(engine.pool, 'm');
  assert.deepEqual(
    jobs.map((j) => [j.attempts, j.status, j.failureErrorCode]),
    [[3, FAILED, FailureCode.NO_PROGRESS]],
  );
  assert.match(jobs[0]?.lastError ?? '', /no_progress: 1 of the job's 1 row\(s\) still have dst IS NULL/);
  const m = await migration(engine.pool, 'm');
  assert.deepEqual([m.status, m.failureErrorCode, String(m.rowsProcessed)], [MigrationStatus.FAILED, FailureCode.MAX_JOB_RETRY, '0']);
});

test('partial progress is no progress: a job that fills some of its rows and leaves others NULL is rolled back and fails, naming how many stay NULL', async () => {
  // Rows 3 and 6 have no source, so copying leaves their dst NULL; the others can be filled.
  const rows: [number, string | null][] = [1, 2, 3, 4, 5, 6, 7, 8].map((id) => [id, id % 3 === 0 ? null : `s${id}`]);
  const engine = await engineWithRows('nullpartial', rows);
  await define(engine, { name: 'm', ...FILL, batchSize: 4 });
  const run = await runToEnd(engine, { maxJobAttempts: 2, maxSteps: 20 });
  assert.equal(run.errors.at(-1), ErrorCode.MAX_JOB_RETRY);
  assert.ok(
    run.errors.slice(0, -1).every((e) => e === ErrorCode.NO_PROGRESS),
    run.errors.join(','),
  );
  const failed = (await jobsOf(engine.pool, 'm')).filter((j) => j.status === FAILED);
  assert.equal(failed.length, 1);
  assert.match(failed[0]?.lastError ?? '', /no_progress: 1 of the job's 4 row\(s\) still have dst IS NULL/);
  assert.equal((await migration(engine.pool, 'm')).status, MigrationStatus.FAILED);
  const { rows: left } = await engine.pool.query('SELECT count(*)::int AS n FROM t WHERE dst IS NULL');
  assert.equal(left[0].n, 8, 'the rows the failed job did fill were rolled back with it');
});

test('a work function that reports rows changed but changes nothing is caught by the NULL rows left, not by what it says', async () => {
  let calls = 0;
  const liar = work('liar', async () => {
    calls++;
    return 5;
  });
  const engine = await engineWithRows(
    'nullliar',
    [
      [1, 'a'],
      [2, 'b'],
    ],
    registryWith(liar),
  );
  await define(engine, { name: 'm', table: 't', column: 'dst', strategy: 'null', work: 'liar', args: {}, batchSize: 5 });
  const run = await runToEnd(engine, { maxJobAttempts: 2, maxSteps: 20 });
  assert.deepEqual(run.errors, [ErrorCode.NO_PROGRESS, ErrorCode.MAX_JOB_RETRY]);
  assert.equal(calls, 2);
  const [job] = await jobsOf(engine.pool, 'm');
  assert.match(job?.lastError ?? '', /2 of the job's 2 row\(s\) still have dst IS NULL.*reported 5 row\(s\) changed/);
  assert.equal(String((await migration(engine.pool, 'm')).rowsProcessed), '0', 'rows a failed job claimed are not counted');
});

test('a NULL-strategy job gets its rows in ctx.where and finishes when every one of them leaves the NULL set', async () => {
  const seen: string[] = [];
  const fill = work('fill', async (ctx) => {
    seen.push(ctx.where.sql);
    const r = await ctx.client.query(`UPDATE ${ctx.quotedTable} SET ${ctx.quotedColumn} = 'x' WHERE ${ctx.where.sql}`, ctx.where.values);
    return r.rowCount ?? 0;
  });
  const engine = await engineWithRows(
    'nullwhere',
    [1, 2, 3, 4, 5].map((id) => [id, null]),
    registryWith(fill),
  );
  await define(engine, { name: 'm', table: 't', column: 'dst', strategy: 'null', work: 'fill', args: {}, batchSize: 2 });
  const run = await runToEnd(engine, { maxSteps: 20 });
  assert.deepEqual(run.errors, []);
  assert.deepEqual(
    (await jobsOf(engine.pool, 'm')).map((j) => [String(j.rowsAffected), j.status]),
    [
      ['2', DONE],
      ['2', DONE],
      ['1', DONE],
    ],
  );
  assert.equal(seen.length, 3);
  const { rows } = await engine.pool.query("SELECT count(*)::int AS n FROM t WHERE dst = 'x'");
  assert.equal(rows[0].n, 5);
});

test('the NULL strategy is refused with MISSING_UNIQUE_KEY when the table has no primary key or unique NOT NULL key to name its rows', async () => {
  const db = await createTestDatabase('nullnokey');
  await db.pool.query('CREATE TABLE t (id bigint, src text, dst text)');
  await db.pool.query('CREATE INDEX ON t (dst) WHERE dst IS NULL');
  const engine: Engine = { pool: db.pool, registry: registryWith() };
  await assert.rejects(define(engine, { name: 'm', ...FILL }), (err: Error & { code?: string }) => {
    assert.equal(err.code, ErrorCode.MISSING_UNIQUE_KEY);
    assert.match(err.message, /primary key/);
    return true;
  });
  await db.pool.query('CREATE UNIQUE INDEX ON t (id)');
  await assert.rejects(
    define(engine, { name: 'm', ...FILL }),
    { code: ErrorCode.MISSING_UNIQUE_KEY },
    'a unique index over a nullable column does not name rows',
  );
  await db.pool.query('ALTER TABLE t ALTER COLUMN id SET NOT NULL');
  await db.pool.query("INSERT INTO t (id, src) VALUES (1, 'a'), (2, 'b')");
  await define(engine, { name: 'm', ...FILL });
  assert.deepEqual((await runToEnd(engine)).errors, []);
  const { rows } = await db.pool.query('SELECT count(*)::int AS n FROM t WHERE dst = src');
  assert.equal(rows[0].n, 2);
});

test('a composite primary key names the rows of a NULL-strategy job', async () => {
  const db = await createTestDatabase('nullcomposite');
  await db.pool.query('CREATE TABLE t (tenant int, id bigint, src text, dst text, PRIMARY KEY (tenant, id))');
  await db.pool.query('CREATE INDEX ON t (dst) WHERE dst IS NULL');
  await db.pool.query("INSERT INTO t SELECT g % 3, 9007199254740993 + g, 's' || g, NULL FROM generate_series(1, 20) g");
  const engine: Engine = { pool: db.pool, registry: registryWith() };
  await define(engine, { name: 'm', ...FILL, batchSize: 6 });
  assert.deepEqual((await runToEnd(engine)).errors, []);
  const { rows } = await db.pool.query('SELECT count(*)::int AS n FROM t WHERE dst = src');
  assert.equal(rows[0].n, 20);
  assert.deepEqual(
    (await jobsOf(db.pool, 'm')).map((j) => String(j.rowsAffected)),
    ['6', '6', '6', '2'],
  );
});
