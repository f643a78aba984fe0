// The fast variant of test/faults/postgres-lost-commits.test.ts: instead of crashing Postgres,
// the test makes the database lose a commit (exactly what a crash with asynchronous commit, a
// failover or a restore leaves behind) at a moment it chooses, and the workflow must carry on.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Pool } from 'pg';
import { defineMigration } from '../src/engine/definitions';
import { JobStatus } from '../src/engine/constants';
import { repositoryWorkflowId } from '../src/contract/ids';
import { repositoryMigration } from '../workflows/repository';
import { assertExactlyOnce } from './faults/lib/data';
import { ActivityGate, beforeEnd } from './helpers/activity-gate';
import { createItems, createTestDatabase } from './helpers/db';
import { startTestWorker } from './helpers/temporal';

const ROWS = 300;

/** Undo the newest finished job of `migration` as a lost commit would: its rows, its job row, its counts and the job it found ahead. */
async function loseNewestFinishedJob(pool: Pool, migration: string): Promise<number> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const { rows } = await client.query(
      `SELECT j.id, j.min_value, j.max_value, j.rows_affected, m.id AS migration_id FROM bbm.jobs j JOIN bbm.migrations m ON m.id = j.migration_id
        WHERE m.name = $1 AND j.status = ${JobStatus.FINISHED} ORDER BY j.id DESC LIMIT 1`,
      [migration],
    );
    const job = rows[0];
    await client.query('UPDATE items SET counter = counter - 1 WHERE id BETWEEN $1 AND $2', [job.min_value, job.max_value]);
    // The same transaction inserted the job found ahead after it (src/engine/find-ahead.ts): a
    // lost commit loses that insert too.
    const ahead = await client.query(`DELETE FROM bbm.jobs WHERE migration_id = $1 AND id > $2 AND status <> ${JobStatus.FINISHED}`, [
      job.migration_id,
      job.id,
    ]);
    assert.ok((ahead.rowCount ?? 0) <= 1, 'at most the one job found ahead follows the newest finished job');
    await client.query('DELETE FROM bbm.jobs WHERE id = $1', [job.id]);
    await client.query(
      `UPDATE bbm.migrations SET rows_processed = rows_processed - $2, jobs_finished = jobs_finished - 1,
              covered_ids = covered_ids - ($4::bigint - $3::bigint + 1) WHERE id = $1`,
      [job.migration_id, job.rows_affected, job.min_value, job.max_value],
    );
    await client.query('COMMIT');
    return Number(job.id);
  } finally {
    client.release();
  }
}

for (const localActivities of [true, false]) {
  test(`a repository workflow whose database loses a found job, its lease and a finished job finds again by itself, and every row ends at exactly 1 (${localActivities ? 'local' : 'regular'} activities)`, async (t) => {
    const db = await createTestDatabase('stale');
    const gate = new ActivityGate();
    const worker = await startTestWorker(db, { interceptors: gate.interceptors });
    const key = 'stale';
    await createItems(db.pool, 'items', ROWS);
    await defineMigration(
      { pool: db.pool, registry: worker.registry },
      {
        name: key,
        repository: key,
        work: 'increment',
        table: 'items',
        column: 'id',
        targetJobMs: 0,
        batchSize: 20,
        args: { target: 'counter' },
      },
    );
    // 1. The job the workflow just found is gone (the find's commit was lost).
    const lostFind = gate.arm(
      'executeJob',
      key,
      async (input) => {
        await db.pool.query('DELETE FROM bbm.jobs WHERE id = $1', [(input.job as { jobId: number }).jobId]);
      },
      2,
    );
    const handle = await worker.client.workflow.start(repositoryMigration, {
      taskQueue: worker.taskQueue,
      workflowId: repositoryWorkflowId(key),
      args: [{ repository: key, knobs: { minDelayMs: 1, maxDelayMs: 1, maxJobPerBatch: 3, localActivities } }],
    });
    const result = handle.result();
    const lostJob = (await beforeEnd(result, lostFind, 'the found job was lost')).job as { jobId: number };
    // 2. The lease the workflow holds goes back to the token before it (its acquisition was lost).
    const lostLease = gate.arm(
      'findJob',
      key,
      async () => {
        await db.pool.query('UPDATE bbm.leases SET token = token - 1 WHERE repository = $1', [key]);
      },
      1,
    );
    await beforeEnd(result, lostLease, 'the lease was lost');
    // 3. A job the workflow saw finish is undone, rows and all (its commit was lost).
    let undone = 0;
    const lostCommit = gate.arm(
      'findJob',
      key,
      async () => {
        undone = await loseNewestFinishedJob(db.pool, key);
      },
      1,
    );
    await beforeEnd(result, lostCommit, 'a finished job was lost');
    const summary = await result;
    assert.equal(summary.state, 'finished', 'the workflow carried on by itself');
    const report = await assertExactlyOnce(db.pool, 'items', [key], ROWS);
    t.diagnostic(
      `lost found job ${lostJob.jobId}, a lease token and finished job ${undone}; ${report.rows} rows at exactly 1 over ${report.jobs} jobs; the workflow counted ${summary.jobs} jobs`,
    );
    const failed = (await handle.fetchHistory()).events?.filter((e) => e.workflowExecutionFailedEventAttributes) ?? [];
    assert.equal(failed.length, 0);
  });
}
