import assert from 'node:assert/strict';
import { test } from 'node:test';
import { repositoryWorkflowId } from '../src/contract/ids';
import { progressQuery } from '../src/contract/messages';
import { JobStatus } from '../src/engine/constants';
import { defineMigration } from '../src/engine/definitions';
import type { WorkContext } from '../src/engine/registry';
import { repositoryMigration } from '../workflows/repository';
import { Client } from 'pg';
import { counters, createItems, createTestDatabase } from './helpers/db';
import { jobSummary, work } from './helpers/engine';
import { startTestWorker } from './helpers/temporal';
import { assertTiles, FAST, NEVER_IDLE, startSlowRun } from './helpers/run-ahead';
import { waitFor } from './helpers/wait';
import { spawnWorker } from './helpers/worker-process';
import { registryWith, slowIncrement } from './helpers/work';
import { pauseMigrations, resumeMigrations } from '../src/engine/control';

/**
 * Adversarial review of run-ahead (src/engine/run-ahead.ts) on the real servers: what a job
 * records (attempts, failures) must not depend on BBM_RUN_AHEAD, and a worker stopped while
 * run-aheads are open must leave every row changed exactly once.
 */

test('run-ahead adversarial: a job whose work fails only the first time it runs records the same attempts and failure with run-ahead on as off', async () => {
  const outcomes = [];
  for (const [label, repository, env] of [
    ['raa_flaky_on', 'raa-flaky-on', {}],
    ['raa_flaky_off', 'raa-flaky-off', { BBM_RUN_AHEAD: '0' }],
  ] as const) {
    const db = await createTestDatabase(label);
    await createItems(db.pool, 'items', 100);
    // A transient failure (a deadlock, a lock timeout, a serialization failure) on the range 41..50's first run.
    let runs41 = 0;
    const flaky = work('raa_flaky', async (ctx: WorkContext) => {
      const r = await ctx.client.query(`UPDATE ${ctx.quotedTable} SET counter = counter + 1 WHERE ${ctx.where.sql}`, ctx.where.values);
      if (ctx.start === 41n && ++runs41 === 1) throw new Error('transient failure at 41');
      return r.rowCount ?? 0;
    });
    const registry = registryWith(flaky);
    await defineMigration(
      { pool: db.pool, registry },
      { name: 'm', repository, work: 'raa_flaky', table: 'items', column: 'id', targetJobMs: 0, batchSize: 10, args: {} },
    );
    const worker = await startTestWorker(db, { registry, env });
    const handle = await worker.client.workflow.start(repositoryMigration, {
      taskQueue: worker.taskQueue,
      workflowId: repositoryWorkflowId(repository),
      args: [{ repository, knobs: { ...FAST, maxJobAttempts: 3 } }],
    });
    const summary = await handle.result();
    const jobs = await jobSummary(db.pool, 'm');
    assertTiles(jobs, 100);
    outcomes.push({ state: summary.state, jobs, counters: await counters(db.pool), runs41, stats: worker.runAheads.stats().claimed > 0 });
  }
  const [on, off] = outcomes;
  assert.deepEqual(off!.counters, { lo: 1, hi: 1, n: 100 });
  // Run-ahead off: the first attempt fails and is recorded; the second commits (attempts 2).
  assert.deepEqual(off!.jobs[4], ['41', '50', 2, JobStatus.FINISHED]);
  assert.equal(on!.stats, true, 'run-aheads were claimed with run-ahead on');
  assert.deepEqual({ ...on, stats: undefined }, { ...off, stats: undefined });
});

test('run-ahead adversarial: a worker stopped with SIGTERM while run-aheads are open exits cleanly, and its replacement changes every row exactly once', async () => {
  const db = await createTestDatabase('raa_sigterm');
  const run = await startSlowRun(db, 'raa-sigterm', 'raa_term');
  const { handle, taskQueue } = run;
  let { worker } = run;
  try {
    await worker.kill('SIGTERM');
    assert.deepEqual(await worker.exited, { code: 0, signal: null }, `the worker exited by itself: ${worker.output()}`);
    // Its run-ahead is gone with it: no transaction of it is left holding the job's rows.
    const { rows: left } = await db.pool.query(
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'bbm-test-worker'`,
    );
    assert.equal(left[0].n, 0);
    worker = await spawnWorker({ databaseUrl: db.url, taskQueue, env: NEVER_IDLE });
    assert.equal((await handle.result()).state, 'finished');
    assert.deepEqual(await counters(db.pool), { lo: 1, hi: 1, n: 400 });
    const jobs = await jobSummary(db.pool, 'm');
    assertTiles(jobs, 400);
    assert.ok(
      jobs.every(([, , attempts, status]) => status === JobStatus.FINISHED && attempts === 1),
      `every job finished at its first attempt: ${JSON.stringify(jobs)}`,
    );
  } finally {
    await worker.stop();
  }
});

test(
  'run-ahead adversarial: a repository throttled by a health check between two jobs, with run-ahead on and off, ends with every row changed once',
  { timeout: 300_000 },
  async () => {
    const outcomes = [];
    for (const [label, repository, env] of [
      ['raa_throttle_on', 'raa-throttle-on', {}],
      ['raa_throttle_off', 'raa-throttle-off', { BBM_RUN_AHEAD: '0' }],
    ] as const) {
      const db = await createTestDatabase(label);
      await createItems(db.pool, 'items', 3000);
      // Every run of the work, by range start: with the job rows' attempts, what ran and what was recorded.
      const runs = new Map<string, number>();
      const counted = work('raa_counted', async (ctx: WorkContext) => {
        runs.set(String(ctx.start), (runs.get(String(ctx.start)) ?? 0) + 1);
        await ctx.client.query('SELECT pg_sleep(0.02)');
        const r = await ctx.client.query(`UPDATE ${ctx.quotedTable} SET counter = counter + 1 WHERE ${ctx.where.sql}`, ctx.where.values);
        return r.rowCount ?? 0;
      });
      const registry = registryWith(counted);
      await defineMigration(
        { pool: db.pool, registry },
        { name: 'm', repository, work: 'raa_counted', table: 'items', column: 'id', targetJobMs: 0, batchSize: 10, args: {} },
      );
      const worker = await startTestWorker(db, { registry, env });
      // Only the oldest-transaction indicator, checked before every job.
      const knobs = {
        ...FAST,
        healthCheckIntervalMs: 1,
        maxThrottleBackoffMs: 400,
        maxTransactionAgeMs: 1_500,
        maxReplicationLagMs: 0,
        maxReplicationLagBytes: 0,
        maxWalArchiveBacklog: 0,
        maxXminHorizonAge: 0,
        throttleOnVacuum: false,
        maxLockWaitMs: 0,
        maxActiveBackends: 0,
      };
      const handle = await worker.client.workflow.start(repositoryMigration, {
        taskQueue: worker.taskQueue,
        workflowId: repositoryWorkflowId(repository),
        args: [{ repository, knobs }],
      });
      await waitFor('3 jobs finished', async () => {
        const { rows } = await db.pool.query(`SELECT count(*)::int AS n FROM bbm.jobs WHERE status = ${JobStatus.FINISHED}`);
        return rows[0].n >= 3;
      });
      // An old open transaction: the database is unhealthy once it is 1.5 s old.
      const old = new Client({ connectionString: db.url });
      await old.connect();
      let ranUnrecorded: Array<[string, number, number]> | undefined;
      try {
        await old.query('BEGIN; SELECT txid_current()');
        await waitFor('the repository to be throttled', async () => (await handle.query(progressQuery)).state === 'throttled');
        await waitFor('no run-ahead open', async () => worker.runAheads.opened(repository) === undefined);
        // Whether the job the throttle held back ran in a run-ahead (and was rolled back) depends on
        // a race with the health check; run-ahead-adversarial-engine.test.ts shows it without the race.
        ranUnrecorded = (await jobSummary(db.pool, 'm'))
          .map(([lo, , attempts]) => [lo!, runs.get(lo!) ?? 0, attempts] as [string, number, number])
          .filter(([, ran, attempts]) => ran !== attempts);
        if (ranUnrecorded.length > 0)
          console.log(`# ${repository}: ran without an attempt (start, runs, attempts): ${JSON.stringify(ranUnrecorded)}`);
      } finally {
        await old.query('COMMIT');
        await old.end();
      }
      assert.equal((await handle.result()).state, 'finished');
      assert.deepEqual(await counters(db.pool), { lo: 1, hi: 1, n: 3000 });
      assertTiles(await jobSummary(db.pool, 'm'), 3000);
      outcomes.push({ repository, ranUnrecorded: ranUnrecorded?.length });
    }
    // Run-ahead off: the health check comes before any work of the next job.
    assert.equal(outcomes[1]!.ranUnrecorded, 0);
  },
);

for (const [how, repository] of [
  ['terminated', 'raa-terminate'],
  ['cancelled', 'raa-cancel'],
] as const) {
  test(`run-ahead adversarial: a repository run ${how} while run-aheads are open lets an operator pause from outside the worker, and a new run changes every row once`, async () => {
    const db = await createTestDatabase(`raa_${how}`);
    await createItems(db.pool, 'items', 300);
    const registry = registryWith(slowIncrement(100));
    await defineMigration(
      { pool: db.pool, registry },
      { name: 'm', repository, work: 'slow_increment', table: 'items', column: 'id', targetJobMs: 0, batchSize: 10 },
    );
    // The default idle limit: a run-ahead nobody will claim is rolled back by it.
    const worker = await startTestWorker(db, { registry });
    const knobs = { minDelayMs: 1, maxDelayMs: 1, maxJobPerBatch: 1_000, localActivities: true };
    const handle = await worker.client.workflow.start(repositoryMigration, {
      taskQueue: worker.taskQueue,
      workflowId: repositoryWorkflowId(repository),
      args: [{ repository, knobs }],
    });
    await waitFor('3 jobs claimed from run-aheads', async () => worker.runAheads.stats().claimed >= 3);
    if (how === 'terminated') await handle.terminate('test: terminate with a run-ahead open');
    else await handle.cancel();
    await assert.rejects(handle.result());
    // From outside the worker (bbm migrations pause): it takes the migration row lock a run-ahead holds.
    const paused = await pauseMigrations(db.pool, { repository });
    assert.ok(paused.length <= 1, JSON.stringify(paused));
    const { rows } = await db.pool.query(`SELECT status FROM bbm.migrations WHERE name = 'm'`);
    assert.equal(rows[0].status, 0, 'paused');
    await waitFor('no run-ahead open', async () => worker.runAheads.opened(repository) === undefined);
    // Only committed jobs changed rows.
    const { rows: partial } = await db.pool.query(
      `SELECT (SELECT count(*)::int FROM items WHERE counter = 1) AS touched, (SELECT count(*)::int FROM items WHERE counter > 1) AS twice,
              (SELECT coalesce(sum(rows_affected), 0)::int FROM bbm.jobs WHERE status = ${JobStatus.FINISHED}) AS recorded`,
    );
    assert.equal(partial[0].twice, 0);
    assert.equal(partial[0].touched, partial[0].recorded);
    assert.deepEqual(await resumeMigrations(db.pool, { repository }), ['m']);
    const again = await worker.client.workflow.execute(repositoryMigration, {
      taskQueue: worker.taskQueue,
      workflowId: repositoryWorkflowId(repository),
      args: [{ repository, knobs: FAST }],
    });
    assert.equal(again.state, 'finished');
    assert.deepEqual(await counters(db.pool), { lo: 1, hi: 1, n: 300 });
    const jobs = await jobSummary(db.pool, 'm');
    assertTiles(jobs, 300);
    assert.ok(
      jobs.every(([, , , status]) => status === JobStatus.FINISHED),
      'every job finished',
    );
  });
}

test(
  'run-ahead adversarial: a job slower than the job timeout records the same attempts and failures with run-ahead on as off',
  { timeout: 300_000 },
  async () => {
    const outcomes = [];
    for (const [label, repository, env] of [
      ['raa_timeout_on', 'raa-timeout-on', {}],
      ['raa_timeout_off', 'raa-timeout-off', { BBM_RUN_AHEAD: '0' }],
    ] as const) {
      const db = await createTestDatabase(label);
      await createItems(db.pool, 'items', 100);
      // The range 41..50 outlasts its statement_timeout (jobTimeoutMs) at every run.
      const stuck = work('raa_stuck', async (ctx: WorkContext) => {
        if (ctx.start === 41n) await ctx.client.query('SELECT pg_sleep(60)');
        const r = await ctx.client.query(`UPDATE ${ctx.quotedTable} SET counter = counter + 1 WHERE ${ctx.where.sql}`, ctx.where.values);
        return r.rowCount ?? 0;
      });
      const registry = registryWith(stuck);
      await defineMigration(
        { pool: db.pool, registry },
        { name: 'm', repository, work: 'raa_stuck', table: 'items', column: 'id', targetJobMs: 0, batchSize: 10, args: {} },
      );
      const worker = await startTestWorker(db, { registry, env });
      // A job timeout above the local activity's 5 s of slack over it (workflows/repository-activities.ts).
      const handle = await worker.client.workflow.start(repositoryMigration, {
        taskQueue: worker.taskQueue,
        workflowId: repositoryWorkflowId(repository),
        args: [{ repository, knobs: { ...FAST, maxJobAttempts: 2, jobTimeoutMs: 6_000 } }],
      });
      const summary = await handle.result();
      const jobs = await jobSummary(db.pool, 'm');
      const { rows } = await db.pool.query(`SELECT status, failure_error_code FROM bbm.migrations WHERE name = 'm'`);
      outcomes.push({ failed: summary.migrationsFailed, jobs, migration: rows[0], counters: await counters(db.pool) });
    }
    const [on, off] = outcomes;
    assert.deepEqual(off!.jobs[4], ['41', '50', 2, JobStatus.FAILED]);
    assert.deepEqual(on, off);
  },
);
