import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defineMigration } from '../src/engine/definitions';
import { JobStatus } from '../src/engine/constants';
import { repositoryWorkflowId } from '../src/contract/ids';
import { repositoryMigration } from '../workflows/repository';
import { createItems, createTestDatabase } from './helpers/db';
import { startTestWorker } from './helpers/temporal';
import { waitFor } from './helpers/wait';
import { registryWith, slowIncrement } from './helpers/work';

const JOB_MS = 400;

test('a terminated repository run stops taking jobs within about two seconds of job time, rolls back the job it was in, and a new run takes over at once', async (t) => {
  const db = await createTestDatabase('terminate');
  await createItems(db.pool, 'items', 600);
  const registry = registryWith(slowIncrement(JOB_MS));
  await defineMigration(
    { pool: db.pool, registry },
    { name: 'tm', repository: 'tm', work: 'slow_increment', table: 'items', column: 'id', targetJobMs: 0, batchSize: 10 },
  );
  const worker = await startTestWorker(db, { registry });
  // Local activities and one long batch: the jobs run back to back inside workflow tasks.
  const knobs = { minDelayMs: 1, maxDelayMs: 1, maxJobPerBatch: 1_000, localActivities: true };
  const handle = await worker.client.workflow.start(repositoryMigration, {
    taskQueue: worker.taskQueue,
    workflowId: repositoryWorkflowId('tm'),
    args: [{ repository: 'tm', knobs }],
  });
  const finished = async (): Promise<number> =>
    (await db.pool.query(`SELECT count(*)::int AS n FROM bbm.jobs WHERE status = ${JobStatus.FINISHED}`)).rows[0].n;
  await waitFor('three finished jobs', async () => ((await finished()) >= 3 ? true : undefined));
  const { rows: at } = await db.pool.query('SELECT clock_timestamp() AS t');
  await handle.terminate('test: terminate mid-batch');

  // The worker hears of the terminate at its next workflow task; from then on nothing commits.
  let last = -1;
  await waitFor(
    'the terminated run to stop committing jobs',
    async () => {
      const n = await finished();
      if (n === last) return true;
      last = n;
      return undefined;
    },
    60_000,
    (JOB_MS + 2_000) * 2,
  );
  const { rows: after } = await db.pool.query(
    `SELECT count(*)::int AS n FROM bbm.jobs WHERE status = ${JobStatus.FINISHED} AND finished_at > $1`,
    [at[0].t],
  );
  // About 2 s of job time to the next workflow task, plus the job in flight; without the yield,
  // jobs kept committing until the workflow task's heartbeat, 8 s or ~20 jobs later.
  const limit = Math.ceil(2_000 / JOB_MS) + 2;
  t.diagnostic(`${after[0].n} job(s) committed after the terminate (limit ${limit})`);
  assert.ok(after[0].n <= limit, `${after[0].n} jobs committed after the terminate; at most ${limit} expected`);
  const { rows: partial } = await db.pool.query(
    `SELECT (SELECT count(*)::int FROM items WHERE counter = 1) AS touched,
            (SELECT coalesce(sum(rows_affected), 0)::int FROM bbm.jobs WHERE status = ${JobStatus.FINISHED}) AS recorded`,
  );
  assert.equal(partial[0].touched, partial[0].recorded, 'only recorded jobs changed rows: the job in flight rolled back');

  // The lease is still the terminated run's, but it is held in the workflow ID's name: a new run takes over at once.
  const summary = await worker.client.workflow.execute(repositoryMigration, {
    taskQueue: worker.taskQueue,
    workflowId: repositoryWorkflowId('tm'),
    args: [{ repository: 'tm', knobs: { minDelayMs: 1, maxDelayMs: 1, maxJobPerBatch: 100 } }],
  });
  assert.equal(summary.state, 'finished');
  const { rows } = await db.pool.query('SELECT min(counter) AS lo, max(counter) AS hi FROM items');
  assert.deepEqual([rows[0].lo, rows[0].hi], [1, 1]);
});
