import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Client } from 'pg';
import { createPool } from '../../src/db/pool';
import { migrateSchema } from '../../src/db/schema';
import { JobStatus } from '../../src/engine/constants';
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

test('Postgres with asynchronous commit crashing mid-run loses its newest commits; the workflow carries on by itself and every row ends at exactly 1', async (t) => {
  const pg = await startOwnPostgres('pg-lost');
  const pool = createPool({ url: pg.url, max: 4 });
  const worker = { current: undefined as Awaited<ReturnType<typeof spawnWorker>> | undefined };
  try {
    // Commits return before their WAL is written, and the WAL writer waits up to 10 s: an
    // immediate shutdown then loses the newest commits, as a failover to an async standby would.
    await pool.query('ALTER SYSTEM SET synchronous_commit = off');
    await pool.query("ALTER SYSTEM SET wal_writer_delay = '10s'");
    await pool.query('SELECT pg_reload_conf()');
    await migrateSchema(pool);
    await createCounterTable(pool, 'items', ROWS);
    await pool.query('CHECKPOINT'); // the table and the definitions survive; only the run's commits are at risk
    const name = 'pg-lost-m';
    const repository = 'pg-lost';
    await defineMigration(
      { pool, registry: new WorkRegistry([...BUILTIN_WORK]) },
      { name, repository, work: 'increment', table: 'items', column: 'id', targetJobMs: 0, batchSize: 1_000, args: { target: 'counter' } },
    );
    await pool.query('CHECKPOINT');

    // A row lock half-way holds one job's UPDATE in flight: that job was just found (its insert
    // committed asynchronously), so the crash most likely takes the job row with it.
    const blocker = new Client({ connectionString: pg.url });
    blocker.on('error', () => undefined);
    await blocker.connect();
    await blocker.query('BEGIN');
    await blocker.query('SELECT id FROM items WHERE id = $1 FOR UPDATE', [Math.floor(ROWS / 2) + 17]);

    const taskQueue = uniqueTaskQueue('pg-lost');
    worker.current = await spawnWorker({ databaseUrl: pg.url, taskQueue });
    const client = await testClient();
    const handle = await client.workflow.start(repositoryMigration, {
      taskQueue,
      workflowId: repositoryWorkflowId(repository),
      args: [{ repository, knobs: { minDelayMs: 0, maxDelayMs: 0 } }],
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
    const before = await pool.query(
      `SELECT (SELECT max(id) FROM bbm.jobs) AS last_job, (SELECT id FROM bbm.jobs WHERE status = ${JobStatus.ACTIVE}) AS in_flight,
              (SELECT token FROM bbm.leases WHERE repository = $1) AS token`,
      [repository],
    );
    const rowsBefore = await rowsProcessed(pool, [name]);

    // Down long enough for the retries to back off (a capped exponential backoff would wait up to its cap
    // after the return); the database retry delay keeps the first attempt after it within seconds.
    await pg.crash(15_000);
    const back = Date.now();
    const after = await pool.query(
      `SELECT (SELECT max(id) FROM bbm.jobs) AS last_job, (SELECT count(*) FROM bbm.jobs WHERE status = ${JobStatus.FINISHED})::int AS finished,
              (SELECT token FROM bbm.leases WHERE repository = $1) AS token`,
      [repository],
    );
    const rowsAfter = await rowsProcessed(pool, [name]);
    // The time the workflow needs to notice the database is back and commit its next job.
    await waitFor(
      'the next job committed after the crash',
      async () => {
        const { rows } = await pool.query(`SELECT count(*)::int AS n FROM bbm.jobs WHERE status = ${JobStatus.FINISHED}`);
        return rows[0].n > after.rows[0].finished;
      },
      120_000,
    );
    const recoveryMs = Date.now() - back;
    const summary = await handle.result();
    assert.equal(summary.state, 'finished', 'the workflow completed by itself');
    const report = await assertExactlyOnce(pool, 'items', [name], ROWS);
    const b = before.rows[0];
    const a = after.rows[0];
    t.diagnostic(
      `crash with job ${b.in_flight} in flight at ${rowsBefore}/${ROWS} rows (last job ${b.last_job}, lease token ${b.token}); ` +
        `after recovery: ${rowsAfter} rows, last job ${a.last_job}, lease token ${a.token} ` +
        `(${Number(b.last_job) - Number(a.last_job ?? 0)} job row(s) and ${rowsBefore - rowsAfter} rows of progress lost); ` +
        `next job committed ${(recoveryMs / 1000).toFixed(1)} s after Postgres was back; ${report.rows} rows at exactly 1 over ${report.jobs} jobs`,
    );
    assert.ok(recoveryMs < 10_000, `the run carried on within seconds of Postgres's return (took ${recoveryMs} ms)`);
  } finally {
    await worker.current?.stop();
    await pool.end();
    await pg.stop();
  }
});
