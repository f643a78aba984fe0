import assert from 'node:assert/strict';
import type { WorkflowHandle } from '@temporalio/client';
import { repositoryWorkflowId } from '../../src/contract/ids';
import { JobStatus } from '../../src/engine/constants';
import { defineMigration } from '../../src/engine/definitions';
import { createItems, type TestDatabase } from './db';
import { repositoryMigration } from '../../workflows/repository';
import { testClient, uniqueTaskQueue } from './temporal';
import { waitFor } from './wait';
import { spawnWorker, type WorkerProcess } from './worker-process';
import { registryWith } from './work';

/**
 * A 400-row table and a migration of `repository` over it in jobs of 20 (`increment` on
 * `counter`, fixed size), whose every UPDATE takes about 200 ms (a statement trigger sleeps): a
 * worker past its first job then spends most of its time in run-aheads (src/engine/run-ahead.ts).
 */
export async function slowIncrementMigration(db: TestDatabase, repository: string): Promise<void> {
  await createItems(db.pool, 'items', 400);
  await db.pool.query(`CREATE FUNCTION slow() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(0.2); RETURN NULL; END $$;
    CREATE TRIGGER slow BEFORE UPDATE ON items FOR EACH STATEMENT EXECUTE FUNCTION slow()`);
  await defineMigration(
    { pool: db.pool, registry: registryWith() },
    { name: 'm', repository, work: 'increment', table: 'items', column: 'id', targetJobMs: 0, batchSize: 20, args: { target: 'counter' } },
  );
}

/**
 * Wait until 3 jobs have finished and a 4th job's UPDATE is at work: past a round's first job,
 * that UPDATE is a run-ahead's.
 */
export async function waitForRunAheadAtWork(db: TestDatabase): Promise<void> {
  await waitFor('3 jobs finished and a 4th at work', async () => {
    const { rows } = await db.pool.query(
      `SELECT (SELECT count(*) FROM bbm.jobs WHERE status = ${JobStatus.FINISHED})::int AS done,
              (SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' AND query LIKE 'UPDATE%items%')::int AS working`,
    );
    return rows[0].done >= 3 && rows[0].working === 1;
  });
}

/** Knobs of the run-ahead tests' workflows: no pauses, rounds of 20 jobs. */
export const FAST = { minDelayMs: 0, maxDelayMs: 0, maxJobPerBatch: 20 };
/** Worker settings where a run-ahead ends only when claimed or abandoned, never by its idle limit. */
export const NEVER_IDLE = { BBM_RUN_AHEAD_IDLE_MS: '600000' };

/** Job ranges in id order tile 1..rows, with no gap and no overlap. */
export function assertTiles(summary: Array<[string | null, string | null, number, number]>, rows: number): void {
  let expected = 1n;
  for (const [lo, hi] of summary) {
    assert.equal(BigInt(lo!), expected, `a range starts at ${lo}, expected ${expected}`);
    expected = BigInt(hi!) + 1n;
  }
  assert.equal(expected, BigInt(rows) + 1n);
}

/** A slow run (slowIncrementMigration) on a worker process of its own, caught with a run-ahead at work. */
export interface SlowRun {
  handle: WorkflowHandle<typeof repositoryMigration>;
  worker: WorkerProcess;
  taskQueue: string;
}

/**
 * Define the slow migration of `repository`, start its workflow on a new task queue served by a
 * worker process (NEVER_IDLE), and return once a run-ahead's UPDATE is at work. The worker is
 * stopped if that never happens; otherwise stopping it is the caller's.
 */
export async function startSlowRun(db: TestDatabase, repository: string, queueLabel: string): Promise<SlowRun> {
  await slowIncrementMigration(db, repository);
  const client = await testClient();
  const taskQueue = uniqueTaskQueue(queueLabel);
  const worker = await spawnWorker({ databaseUrl: db.url, taskQueue, env: NEVER_IDLE });
  try {
    const handle = await client.workflow.start(repositoryMigration, {
      taskQueue,
      workflowId: repositoryWorkflowId(repository),
      args: [{ repository, knobs: FAST }],
      workflowTaskTimeout: '2s',
    });
    await waitForRunAheadAtWork(db);
    return { handle, worker, taskQueue };
  } catch (err) {
    await worker.stop();
    throw err;
  }
}
