import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FailureCode, JobStatus, MigrationStatus } from '../src/engine/constants';
import { retryMigration } from '../src/engine/control';
import { executeJob } from '../src/engine/execute-job';
import { findJob } from '../src/engine/find-job';
import type { WorkContext } from '../src/engine/registry';
import { ErrorCode } from '../src/errors';
import { createItems, createTestDatabase } from './helpers/db';
import {
  counters,
  deferred,
  define,
  JOB_TIMEOUT_MS,
  jobsOf,
  jobSummary,
  migration,
  REPO,
  registryWith,
  runToEnd,
  step,
  work,
  type Engine,
} from './helpers/engine';

const { ACTIVE, FINISHED: DONE, FAILED } = JobStatus;

/** Increments `counter` over the job's range, as the built-in `increment` does. */
async function increment(ctx: WorkContext): Promise<number> {
  const result = await ctx.client.query(`UPDATE ${ctx.quotedTable} SET counter = counter + 1 WHERE ${ctx.quotedColumn} BETWEEN $1 AND $2`, [
    ctx.start,
    ctx.end,
  ]);
  return result.rowCount ?? 0;
}

/** `flaky` increments, then throws while `failing()` says so; `calls` counts every run. */
function flakyEngine(label: string, failing: (ctx: WorkContext, call: number) => boolean) {
  const calls: string[] = [];
  const fn = work('flaky', async (ctx) => {
    calls.push(`${ctx.start}-${ctx.end}`);
    const rows = await increment(ctx);
    if (failing(ctx, calls.length)) throw new Error(`boom ${ctx.start}-${ctx.end}`);
    return rows;
  });
  async function setup(ids: number): Promise<Engine> {
    const db = await createTestDatabase(label);
    await createItems(db.pool, 'items', ids);
    return { pool: db.pool, registry: registryWith(fn) };
  }
  return { calls, setup };
}

test('always-failing work with at most 2 attempts exhausts new ranges before retries, then fails the migration with max_job_retry', async () => {
  const { calls, setup } = flakyEngine('exalways', () => true);
  const engine = await setup(93);
  await define(engine, { name: 'm', work: 'flaky', batchSize: 50, args: {} });
  const run = await runToEnd(engine, { maxJobAttempts: 2 });
  assert.deepEqual(run.errors, [ErrorCode.WORK_FAILED, ErrorCode.WORK_FAILED, ErrorCode.MAX_JOB_RETRY]);
  assert.deepEqual(calls, ['1-50', '51-93', '1-50']);
  assert.deepEqual(await jobSummary(engine.pool, 'm'), [
    ['1', '50', 2, FAILED],
    ['51', '93', 1, FAILED],
  ]);
  const m = await migration(engine.pool, 'm');
  assert.equal(m.status, MigrationStatus.FAILED);
  assert.equal(m.failureErrorCode, FailureCode.MAX_JOB_RETRY);
  assert.deepEqual(await counters(engine.pool), { lo: 0, hi: 0, n: 93 }, 'failed attempts leave no trace');
  assert.equal(
    (await findJob(engine.pool, { repository: REPO, maxJobAttempts: 2 })).job,
    null,
    'a failed migration is not picked without retryFailed',
  );
});

test('exceeding retries calls the work exactly N times and leaves the job and the migration failed', async () => {
  const { calls, setup } = flakyEngine('exlimit', () => true);
  const engine = await setup(10);
  await define(engine, { name: 'm', work: 'flaky', batchSize: 50, args: {} });
  const run = await runToEnd(engine, { maxJobAttempts: 3 });
  assert.equal(calls.length, 3);
  assert.deepEqual(run.errors, [ErrorCode.WORK_FAILED, ErrorCode.WORK_FAILED, ErrorCode.MAX_JOB_RETRY]);
  const [job] = await jobsOf(engine.pool, 'm');
  assert.deepEqual([job?.status, job?.attempts, job?.failureErrorCode, job?.lastError], [FAILED, 3, FailureCode.UNKNOWN, 'boom 1-10']);
  assert.equal((await migration(engine.pool, 'm')).status, MigrationStatus.FAILED);
});

for (const how of ['retryMigration', 'findJob with retryFailed'] as const) {
  test(`a failed migration re-run with ${how} finishes once the work succeeds and keeps counting stored attempts`, async () => {
    let broken = true;
    const { calls, setup } = flakyEngine(`exretry${how.length}`, () => broken);
    const engine = await setup(93);
    await define(engine, { name: 'm', work: 'flaky', batchSize: 50, args: {} });
    await runToEnd(engine, { maxJobAttempts: 2 });
    assert.equal((await migration(engine.pool, 'm')).status, MigrationStatus.FAILED);
    broken = false;
    if (how === 'retryMigration') await retryMigration(engine.pool, 'm');
    const run = await runToEnd(engine, { maxJobAttempts: 2, retryFailed: how !== 'retryMigration' });
    assert.deepEqual(run.errors, []);
    assert.deepEqual(calls, ['1-50', '51-93', '1-50', '1-50', '51-93']);
    assert.deepEqual(await jobSummary(engine.pool, 'm'), [
      ['1', '50', 3, DONE],
      ['51', '93', 2, DONE],
    ]);
    const m = await migration(engine.pool, 'm');
    assert.deepEqual([m.status, m.failureErrorCode], [MigrationStatus.FINISHED, null]);
    assert.deepEqual(await counters(engine.pool), { lo: 1, hi: 1, n: 93 });
  });
}

test('a job that succeeds after a failure has its failure code and last error cleared', async () => {
  const { setup } = flakyEngine('exclear', (_ctx, call) => call === 1);
  const engine = await setup(10);
  await define(engine, { name: 'm', work: 'flaky', batchSize: 50, args: {} });
  assert.equal((await step(engine)).error, ErrorCode.WORK_FAILED);
  const [failed] = await jobsOf(engine.pool, 'm');
  assert.deepEqual([failed?.status, failed?.failureErrorCode, failed?.lastError], [FAILED, FailureCode.UNKNOWN, 'boom 1-10']);
  assert.equal((await step(engine)).error, undefined);
  const [done] = await jobsOf(engine.pool, 'm');
  assert.deepEqual([done?.status, done?.attempts, done?.failureErrorCode, done?.lastError], [DONE, 2, null, null]);
});

test('work that changes rows and then throws is rolled back, so after retries every row is changed exactly once', async () => {
  const seen = new Set<string>();
  const { calls, setup } = flakyEngine('exonce', (ctx) => {
    const key = `${ctx.start}`;
    const first = !seen.has(key);
    seen.add(key);
    return first;
  });
  const engine = await setup(93);
  await define(engine, { name: 'm', work: 'flaky', batchSize: 20, args: {} });
  const run = await runToEnd(engine, { maxJobAttempts: 3 });
  assert.equal(run.errors.length, 5);
  assert.equal(calls.length, 10);
  assert.deepEqual(
    (await jobsOf(engine.pool, 'm')).map((j) => [j.attempts, j.status]),
    Array(5).fill([2, DONE]),
  );
  assert.deepEqual(await counters(engine.pool), { lo: 1, hi: 1, n: 93 });
  assert.equal((await migration(engine.pool, 'm')).rowsProcessed, 93n);
});

test('a connection killed mid-job rolls back both the work and its bookkeeping, and the retry applies the batch once', async () => {
  let kill = true;
  const sleeping = deferred<number>();
  const fn = work('sleepy', async (ctx) => {
    const rows = await increment(ctx);
    if (kill) {
      const { rows: pid } = await ctx.client.query('SELECT pg_backend_pid() AS pid');
      sleeping.resolve(Number(pid[0].pid));
      await ctx.client.query('SELECT pg_sleep(30)');
    }
    return rows;
  });
  const db = await createTestDatabase('exkill');
  await createItems(db.pool, 'items', 30);
  const engine: Engine = { pool: db.pool, registry: registryWith(fn) };
  await define(engine, { name: 'm', work: 'sleepy', batchSize: 10, args: {} });
  const found = await findJob(engine.pool, { repository: REPO, maxJobAttempts: 3 });
  assert.ok(found.job);
  // Expect the rejection from the start: it may land before pg_terminate_backend returns.
  const killed = assert.rejects(
    executeJob(engine, { jobId: found.job.jobId, maxJobAttempts: 3, jobTimeoutMs: JOB_TIMEOUT_MS }),
    /terminat/i,
  );
  const pid = await sleeping.promise;
  await db.pool.query('SELECT pg_terminate_backend($1)', [pid]);
  await killed;
  assert.deepEqual(await jobSummary(engine.pool, 'm'), [['1', '10', 0, ACTIVE]], 'the attempt was not recorded');
  assert.deepEqual(await counters(engine.pool), { lo: 0, hi: 0, n: 30 }, 'the work was not applied');
  kill = false;
  const run = await runToEnd(engine, { maxJobAttempts: 3 });
  assert.deepEqual(run.errors, []);
  assert.deepEqual(await jobSummary(engine.pool, 'm'), [
    ['1', '10', 1, DONE],
    ['11', '20', 1, DONE],
    ['21', '30', 1, DONE],
  ]);
  assert.deepEqual(await counters(engine.pool), { lo: 1, hi: 1, n: 30 });
});

test('a work function missing on this worker is not an attempt and leaves the migration running', async () => {
  const { setup } = flakyEngine('exmissing', () => false);
  const engine = await setup(10);
  await define(engine, { name: 'm', work: 'flaky', batchSize: 5, args: {} });
  const found = await findJob(engine.pool, { repository: REPO, maxJobAttempts: 3 });
  assert.ok(found.job);
  const elsewhere = { pool: engine.pool, registry: registryWith() };
  await assert.rejects(executeJob(elsewhere, { jobId: found.job.jobId, maxJobAttempts: 3, jobTimeoutMs: JOB_TIMEOUT_MS }), {
    code: ErrorCode.WORK_FUNCTION_NOT_FOUND,
  });
  assert.deepEqual(await jobSummary(engine.pool, 'm'), [['1', '5', 0, ACTIVE]]);
  const m = await migration(engine.pool, 'm');
  assert.deepEqual([m.status, m.failureErrorCode], [MigrationStatus.RUNNING, null]);
  const run = await runToEnd(engine, { maxJobAttempts: 3 });
  assert.deepEqual(run.errors, []);
  assert.equal((await migration(engine.pool, 'm')).status, MigrationStatus.FINISHED, 'a worker that has it finishes the job');
});

test('the NULL strategy fills every NULL with copy_column and then finishes', async () => {
  const db = await createTestDatabase('exnull');
  await createItems(db.pool, 'items', 25);
  await db.pool.query('CREATE INDEX items_copy_null ON items (copy) WHERE copy IS NULL');
  const engine: Engine = { pool: db.pool, registry: registryWith() };
  await define(engine, { name: 'm', work: 'copy_column', column: 'copy', strategy: 'null', batchSize: 10, args: { from: 'payload' } });
  const run = await runToEnd(engine, { maxJobAttempts: 3 });
  assert.deepEqual(run.errors, []);
  assert.deepEqual(
    (await jobsOf(db.pool, 'm')).map((j) => [j.minValue, j.maxValue, j.rowsAffected, j.status]),
    [
      [null, null, 10n, DONE],
      [null, null, 10n, DONE],
      [null, null, 5n, DONE],
    ],
  );
  const { rows } = await db.pool.query('SELECT count(*)::int AS n FROM items WHERE copy IS DISTINCT FROM payload');
  assert.equal(rows[0].n, 0);
  assert.equal((await migration(db.pool, 'm')).status, MigrationStatus.FINISHED);
});

test('a NULL-strategy job that makes no progress counts attempts as NO_PROGRESS and fails the migration with max_job_retry', async () => {
  const db = await createTestDatabase('exnullstuck');
  await createItems(db.pool, 'items', 25);
  await db.pool.query('CREATE INDEX items_copy_null ON items (copy) WHERE copy IS NULL');
  let calls = 0;
  const stuck = work('stuck', async () => {
    calls++;
    return 0;
  });
  const engine: Engine = { pool: db.pool, registry: registryWith(stuck) };
  await define(engine, { name: 'm', work: 'stuck', column: 'copy', strategy: 'null', batchSize: 10, args: {} });
  const run = await runToEnd(engine, { maxJobAttempts: 3, maxSteps: 20 });
  assert.deepEqual(run.errors, [ErrorCode.NO_PROGRESS, ErrorCode.NO_PROGRESS, ErrorCode.MAX_JOB_RETRY]);
  assert.equal(calls, 3);
  const jobs = await jobsOf(db.pool, 'm');
  assert.deepEqual(
    jobs.map((j) => [j.attempts, j.status, j.failureErrorCode]),
    [[3, FAILED, FailureCode.NO_PROGRESS]],
  );
  assert.match(jobs[0]?.lastError ?? '', /no_progress: 10 of the job's 10 row\(s\) still have copy IS NULL/);
  const m = await migration(db.pool, 'm');
  assert.deepEqual([m.status, m.failureErrorCode], [MigrationStatus.FAILED, FailureCode.MAX_JOB_RETRY]);
});
