import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Client } from 'pg';
import { createPool } from '../../src/db/pool';
import { migrateSchema } from '../../src/db/schema';
import { defineMigration } from '../../src/engine/definitions';
import { BUILTIN_WORK } from '../../src/engine/builtin-work';
import { WorkRegistry } from '../../src/engine/registry';
import { repositoryWorkflowId } from '../../src/contract/ids';
import { repositoryMigration } from '../../workflows/repository';
import { testClient, uniqueTaskQueue } from '../helpers/temporal';
import { spawnWorker } from '../helpers/worker-process';
import { assertExactlyOnce, createCounterTable, rowsProcessed, waitFor } from './lib/data';
import { startOwnPostgres } from './lib/own-postgres';

const ROWS = 50_000;

test('Postgres restarting mid-job drops every connection; the job is retried and the migration completes exactly once', async (t) => {
  const pg = await startOwnPostgres('pg-restart');
  const pool = createPool({ url: pg.url, max: 4 });
  const worker = { current: undefined as Awaited<ReturnType<typeof spawnWorker>> | undefined };
  try {
    await migrateSchema(pool);
    await createCounterTable(pool, 'items', ROWS);
    const name = 'pg-restart-m';
    const repository = 'pg-restart';
    await defineMigration(
      { pool, registry: new WorkRegistry([...BUILTIN_WORK]) },
      { name, repository, work: 'increment', table: 'items', column: 'id', targetJobMs: 0, batchSize: 1_000, args: { target: 'counter' } },
    );

    // A row lock half-way holds one job's UPDATE in flight, so the restart lands mid-job.
    const blocker = new Client({ connectionString: pg.url });
    blocker.on('error', () => undefined);
    await blocker.connect();
    await blocker.query('BEGIN');
    await blocker.query('SELECT id FROM items WHERE id = $1 FOR UPDATE', [Math.floor(ROWS / 2) + 17]);

    const taskQueue = uniqueTaskQueue('pg-restart');
    worker.current = await spawnWorker({ databaseUrl: pg.url, taskQueue });
    const client = await testClient();
    const handle = await client.workflow.start(repositoryMigration, {
      taskQueue,
      workflowId: repositoryWorkflowId(repository),
      args: [{ repository, knobs: { minDelayMs: 0, maxDelayMs: 0, maxJobAttempts: 10 } }],
    });
    await waitFor(
      'a job blocked mid-UPDATE',
      async () => {
        const { rowCount } = await pool.query(
          "SELECT 1 FROM pg_stat_activity WHERE application_name = 'bbm-test-worker' AND wait_event_type = 'Lock'",
        );
        return rowCount === 1;
      },
      60_000,
    );
    const before = await rowsProcessed(pool, [name]);
    const inFlight = await pool.query('SELECT id, min_value, max_value FROM bbm.jobs WHERE status = 1');
    assert.equal(inFlight.rowCount, 1, 'one job is in flight at the restart');

    const restartedAt = Date.now();
    await pg.restart(3_000);
    const summary = await handle.result();
    assert.equal(summary.state, 'finished');
    const report = await assertExactlyOnce(pool, 'items', [name], ROWS);
    const job = await pool.query('SELECT status, attempts FROM bbm.jobs WHERE id = $1', [inFlight.rows[0].id]);
    t.diagnostic(
      `restart (3 s down) with job ${inFlight.rows[0].id} (ids ${inFlight.rows[0].min_value}..${inFlight.rows[0].max_value}) in flight at ${before}/${ROWS} rows; ` +
        `completed ${((Date.now() - restartedAt) / 1000).toFixed(1)} s later; that job finished with ${job.rows[0].attempts} recorded attempt(s); ${report.rows} rows at exactly 1 over ${report.jobs} jobs`,
    );
  } finally {
    await worker.current?.stop();
    await pool.end();
    await pg.stop();
  }
});
