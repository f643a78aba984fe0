import assert from 'node:assert/strict';
import type { Duration } from '@temporalio/common';
import { defineMigration } from '../../../src/engine/definitions';
import { BUILTIN_WORK } from '../../../src/engine/builtin-work';
import { WorkRegistry } from '../../../src/engine/registry';
import type { Knobs } from '../../../src/knobs';
import { repositoryWorkflowId } from '../../../src/contract/ids';
import { repositoryMigration } from '../../../workflows/repository';
import { createTestDatabase } from '../../helpers/db';
import { testClient, uniqueTaskQueue } from '../../helpers/temporal';
import { spawnWorker, type WorkerProcess } from '../../helpers/worker-process';
import { assertExactlyOnce, createCounterTable, rowsProcessed, waitFor, type ExactlyOnceReport } from './data';

export interface SigkillDrillOptions {
  label: string;
  rows: number;
  batchSize: number;
  kills: number;
  knobs?: Partial<Knobs>;
  /**
   * Workflow task timeout of the start: how long Temporal waits for a dead worker's workflow task
   * before handing it to the new worker. @default Temporal's 10 s (the fast suite shortens it)
   */
  workflowTaskTimeout?: Duration;
}

export interface SigkillDrillReport extends ExactlyOnceReport {
  /** rows_processed when each SIGKILL landed. */
  killedAt: number[];
  /** Of those kills, how many hit a job between being handed out (find) and committed (execute). */
  midJob: number;
  summaryRows: string;
  durationMs: number;
}

/**
 * A migration whose worker is SIGKILLed `kills` times at random points (a random fraction of the
 * rows processed, then a random 0-150 ms more, so kills land both between and inside jobs) and
 * restarted each time. It must complete with every row incremented exactly once.
 */
export async function sigkillDrill(options: SigkillDrillOptions): Promise<SigkillDrillReport> {
  const started = Date.now();
  const db = await createTestDatabase(options.label);
  await createCounterTable(db.pool, 'items', options.rows);
  const name = `${options.label}-m`;
  const repository = `${options.label}-repo`;
  await defineMigration(
    { pool: db.pool, registry: new WorkRegistry([...BUILTIN_WORK]) },
    {
      name,
      repository,
      work: 'increment',
      table: 'items',
      column: 'id',
      targetJobMs: 0,
      batchSize: options.batchSize,
      args: { target: 'counter' },
    },
  );
  const client = await testClient();
  const taskQueue = uniqueTaskQueue(options.label);
  let worker: WorkerProcess = await spawnWorker({ databaseUrl: db.url, taskQueue });
  try {
    const handle = await client.workflow.start(repositoryMigration, {
      taskQueue,
      workflowId: repositoryWorkflowId(repository),
      // Pauses between single-job batches keep the run long enough for kills to land mid-migration.
      args: [{ repository, knobs: { minDelayMs: 20, maxDelayMs: 80, maxJobPerBatch: 1, ...options.knobs } }],
      ...(options.workflowTaskTimeout ? { workflowTaskTimeout: options.workflowTaskTimeout } : {}),
    });
    const thresholds = Array.from({ length: options.kills }, () => Math.floor(options.rows * (0.05 + Math.random() * 0.85))).sort(
      (a, b) => a - b,
    );
    const killedAt: number[] = [];
    let midJob = 0;
    for (const [i, threshold] of thresholds.entries()) {
      await waitFor(`${threshold} rows processed`, async () => (await rowsProcessed(db.pool, [name])) >= threshold, 180_000, 20);
      if (i % 2 === 0) {
        // Aim inside a job: one handed out by find (status active) and not yet committed.
        await waitFor(
          'a job in flight',
          async () => (await db.pool.query('SELECT 1 FROM bbm.jobs WHERE status = 1')).rowCount === 1,
          2_000,
          2,
        ).catch(() => undefined);
      } else {
        await new Promise((r) => setTimeout(r, Math.random() * 150));
      }
      await worker.kill('SIGKILL');
      const inFlight = await db.pool.query('SELECT 1 FROM bbm.jobs WHERE status = 1');
      if (inFlight.rowCount) midJob += 1;
      killedAt.push(await rowsProcessed(db.pool, [name]));
      worker = await spawnWorker({ databaseUrl: db.url, taskQueue });
    }
    assert.ok(
      killedAt.every((r) => r < options.rows),
      `a kill landed after the migration had finished: ${killedAt.join(', ')}`,
    );
    const summary = await handle.result();
    assert.equal(summary.state, 'finished');
    const report = await assertExactlyOnce(db.pool, 'items', [name], options.rows);
    return { ...report, killedAt, midJob, summaryRows: summary.rows, durationMs: Date.now() - started };
  } finally {
    await worker.stop();
  }
}
