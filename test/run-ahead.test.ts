import assert from 'node:assert/strict';
import { test } from 'node:test';
import { repositoryWorkflowId } from '../src/contract/ids';
import { JobStatus } from '../src/engine/constants';
import { defineMigration } from '../src/engine/definitions';
import type { WorkContext } from '../src/engine/registry';
import { pauseSignal, resumeSignal } from '../src/contract/messages';
import { repositoryMigration } from '../workflows/repository';
import { counters, createItems, createTestDatabase, type TestDatabase } from './helpers/db';
import { jobSummary, work } from './helpers/engine';
import { startTestWorker, type TestWorker } from './helpers/temporal';
import { assertTiles, FAST, NEVER_IDLE, startSlowRun } from './helpers/run-ahead';
import { waitFor } from './helpers/wait';
import { spawnWorker } from './helpers/worker-process';
import { registryWith } from './helpers/work';

/**
 * Run-ahead (src/engine/run-ahead.ts) on the real servers: the repository workflow's jobs, run as
 * local activities on a worker with run-ahead on (the default), still commit each range exactly
 * once, with the attempts and failure records they have without it.
 */

/** Increments `counter`, and fails on the range starting at `failAt` (rolled back). */
function incrementFailingAt(failAt: bigint | undefined, slowMs = 0) {
  return work('ra_inc', async (ctx: WorkContext) => {
    if (slowMs > 0) await ctx.client.query('SELECT pg_sleep($1)', [slowMs / 1000]);
    const r = await ctx.client.query(`UPDATE ${ctx.quotedTable} SET counter = counter + 1 WHERE ${ctx.where.sql}`, ctx.where.values);
    if (ctx.start === failAt) throw new Error(`boom at ${ctx.start}`);
    return r.rowCount ?? 0;
  });
}

async function setup(
  label: string,
  repository: string,
  rows: number,
  options: { failAt?: bigint; env?: NodeJS.ProcessEnv; slowMs?: number } = {},
): Promise<{ db: TestDatabase; worker: TestWorker }> {
  const db = await createTestDatabase(label);
  await createItems(db.pool, 'items', rows);
  const registry = registryWith(incrementFailingAt(options.failAt, options.slowMs));
  await defineMigration(
    { pool: db.pool, registry },
    { name: 'm', repository, work: 'ra_inc', table: 'items', column: 'id', targetJobMs: 0, batchSize: 10, args: {} },
  );
  const worker = await startTestWorker(db, { registry, env: options.env });
  return { db, worker };
}

function start(worker: TestWorker, repository: string, knobs: Record<string, number> = FAST) {
  return worker.client.workflow.start(repositoryMigration, {
    taskQueue: worker.taskQueue,
    workflowId: repositoryWorkflowId(repository),
    args: [{ repository, knobs }],
  });
}

async function claimedMetric(worker: TestWorker): Promise<number> {
  const metric = await worker.metrics.runAheads.get();
  return metric.values.find((v) => v.labels.outcome === 'claimed')?.value ?? 0;
}

test('run-ahead: a repository of many small jobs finishes with every row once, its jobs claimed from run-aheads', async () => {
  const { db, worker } = await setup('ra_wf_common', 'ra-common', 300);
  const summary = await (await start(worker, 'ra-common')).result();
  assert.equal(summary.state, 'finished');
  assert.deepEqual(await counters(db.pool), { lo: 1, hi: 1, n: 300 });
  const jobs = await jobSummary(db.pool, 'm');
  assertTiles(jobs, 300);
  assert.ok(
    jobs.every(([, , attempts, status]) => attempts === 1 && status === JobStatus.FINISHED),
    'each job finished at its first attempt',
  );
  // 30 jobs in rounds of 20: all but the first job of each round may come from a run-ahead.
  const claimed = await claimedMetric(worker);
  assert.ok(claimed >= 20, `claimed ${claimed} run-aheads (${JSON.stringify(worker.runAheads.stats())})`);
  assert.equal(worker.runAheads.stats().claimed, claimed);
});

test('run-ahead: a job failing at every attempt records the same attempts and failures as with run-ahead off, and fails the migration', async () => {
  const outcomes = [];
  for (const [label, repository, env] of [
    ['ra_wf_fail_on', 'ra-fail-on', {}],
    ['ra_wf_fail_off', 'ra-fail-off', { BBM_RUN_AHEAD: '0' }],
  ] as const) {
    const { db, worker } = await setup(label, repository, 100, { failAt: 41n, env });
    const summary = await (await start(worker, repository, { ...FAST, maxJobAttempts: 3 })).result();
    const jobs = await jobSummary(db.pool, 'm');
    const { rows } = await db.pool.query(`SELECT status, failure_error_code FROM bbm.migrations WHERE name = 'm'`);
    outcomes.push({ summary: summary.migrationsFailed, jobs, migration: rows[0], counters: await counters(db.pool) });
    if (!('BBM_RUN_AHEAD' in env)) assert.ok(worker.runAheads.stats().failed >= 1, 'the run-ahead of the failing job failed');
    else assert.deepEqual(worker.runAheads.stats().claimed, 0);
  }
  const [on, off] = outcomes;
  assert.deepEqual(on, off);
  assert.deepEqual(on!.summary, ['m']);
  assert.deepEqual(on!.jobs.at(-1), ['41', '50', 3, JobStatus.FAILED]);
  assert.deepEqual(on!.counters, { lo: 0, hi: 1, n: 100 });
});

test(
  'run-ahead: a pause signalled while run-aheads run is applied without waiting for their idle limit, and the resume runs every row once',
  { timeout: 300_000 },
  async () => {
    // 40 jobs of ~100 ms: the worker spends its time in run-aheads, and the workflow hears the signal at its next yield.
    const { db, worker } = await setup('ra_wf_pause', 'ra-pause', 400, { env: NEVER_IDLE, slowMs: 100 });
    const handle = await start(worker, 'ra-pause');
    await waitFor('3 jobs claimed from run-aheads', async () => worker.runAheads.stats().claimed >= 3);
    await handle.signal(pauseSignal, {});
    // With run-aheads never idle, a pause waiting on one's migration row lock would never end.
    assert.equal((await handle.result()).state, 'paused');
    assert.ok(worker.runAheads.stats().abandoned >= 1, JSON.stringify(worker.runAheads.stats()));
    // The abandoned run-ahead's job is left active, with none of its rows changed.
    const { rows } = await db.pool.query(
      `SELECT count(*)::int AS jobs, count(*) FILTER (WHERE EXISTS (SELECT 1 FROM items i WHERE i.id BETWEEN j.min_value AND j.max_value AND i.counter <> 0))::int AS touched
       FROM bbm.jobs j WHERE j.status = ${JobStatus.ACTIVE}`,
    );
    assert.deepEqual(rows[0], { jobs: 1, touched: 0 });
    const again = await worker.client.workflow.signalWithStart(repositoryMigration, {
      taskQueue: worker.taskQueue,
      workflowId: repositoryWorkflowId('ra-pause'),
      args: [{ repository: 'ra-pause', knobs: FAST }],
      signal: resumeSignal,
      signalArgs: [{}],
    });
    assert.equal((await again.result()).state, 'finished');
    assert.deepEqual(await counters(db.pool), { lo: 1, hi: 1, n: 400 });
    assertTiles(await jobSummary(db.pool, 'm'), 400);
  },
);

test('run-ahead: a worker SIGKILLed while a run-ahead works is replaced, and every row is changed exactly once', async () => {
  const db = await createTestDatabase('ra_wf_kill');
  const run = await startSlowRun(db, 'ra-kill', 'ra_kill');
  const { handle, taskQueue } = run;
  let { worker } = run;
  try {
    // Past the round's first job, and the worker's connection inside a job's UPDATE: a run-ahead's.
    await worker.kill('SIGKILL');
    const { rows: at } = await db.pool.query(`SELECT count(*)::int AS n FROM bbm.jobs WHERE status = ${JobStatus.FINISHED}`);
    assert.ok(at[0].n < 20, 'killed before the migration finished');
    worker = await spawnWorker({ databaseUrl: db.url, taskQueue, env: NEVER_IDLE });
    assert.equal((await handle.result()).state, 'finished');
    assert.deepEqual(await counters(db.pool), { lo: 1, hi: 1, n: 400 });
    const jobs = await jobSummary(db.pool, 'm');
    assertTiles(jobs, 400);
    assert.ok(
      jobs.every(([, , , status]) => status === JobStatus.FINISHED),
      'every job finished',
    );
  } finally {
    await worker.stop();
  }
});
