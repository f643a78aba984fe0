import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BUILTIN_WORK } from '../src/engine/builtin-work';
import { JobStatus } from '../src/engine/constants';
import { defineMigration } from '../src/engine/definitions';
import { WorkRegistry } from '../src/engine/registry';
import { repositoryWorkflowId } from '../src/contract/ids';
import { configureUpdate, progressQuery } from '../src/contract/messages';
import { repositoryMigration } from '../workflows/repository';
import { assertExactlyOnce, createCounterTable } from './faults/lib/data';
import { bbm, cliEnv, shown } from './helpers/cli';
import { createTestDatabase, type TestDatabase } from './helpers/db';
import { jobsOf, migration } from './helpers/engine';
import { assertNoSubBatchTwice, installSubBatchLog, subBatchLog } from './helpers/sub-batches';
import { startTestWorker, testClient, uniqueTaskQueue } from './helpers/temporal';
import { waitFor } from './helpers/wait';
import { spawnWorker, type WorkerProcess } from './helpers/worker-process';

const ROWS = 3_000;
const BATCH = 1_000;
const SUB_BATCH = 100;

/** items 1..ROWS with the sub-batch log, and (unless `define` is false) one `increment` migration over it. */
async function setup(label: string, subBatch: { subBatchSize?: number; subBatchPauseMs?: number }, define = true): Promise<TestDatabase> {
  const db = await createTestDatabase(label);
  await createCounterTable(db.pool, 'items', ROWS);
  await installSubBatchLog(db.pool, 'items');
  if (!define) return db;
  await defineMigration(
    { pool: db.pool, registry: new WorkRegistry([...BUILTIN_WORK]) },
    {
      name: label,
      repository: label,
      work: 'increment',
      table: 'items',
      column: 'id',
      targetJobMs: 0,
      batchSize: BATCH,
      args: { target: 'counter' },
      ...subBatch,
    },
  );
  return db;
}

async function committedSubBatches(db: TestDatabase): Promise<number> {
  const { rows } = await db.pool.query('SELECT count(*)::int AS n FROM sub_batch_log');
  return rows[0].n;
}

/** The job a kill or a pause left between two sub-batches: active, with some but not all of its sub-batches committed. */
async function partDoneJob(db: TestDatabase): Promise<{ cursor: string; subBatches: number } | undefined> {
  const { rows } = await db.pool.query(
    `SELECT cursor_id::text AS cursor, sub_batches FROM bbm.jobs WHERE status = ${JobStatus.ACTIVE} AND sub_batches > 0 AND cursor_id < max_value`,
  );
  return rows[0] ? { cursor: rows[0].cursor, subBatches: rows[0].sub_batches } : undefined;
}

test('a worker SIGKILLed between sub-batches is replaced, every row ends at exactly 1 and no sub-batch runs twice', async (t) => {
  const label = 'sbkill';
  const db = await setup(label, { subBatchSize: SUB_BATCH, subBatchPauseMs: 300 });
  const client = await testClient();
  const taskQueue = uniqueTaskQueue(label);
  let worker: WorkerProcess = await spawnWorker({ databaseUrl: db.url, taskQueue });
  const kills: string[] = [];
  try {
    const handle = await client.workflow.start(repositoryMigration, {
      taskQueue,
      workflowId: repositoryWorkflowId(label),
      args: [{ repository: label, knobs: { minDelayMs: 1, maxDelayMs: 1 } }],
      // Hands the dead worker's workflow task to the new worker after 3 s instead of Temporal's 10 s.
      workflowTaskTimeout: '3s',
    });
    // Mid-job in the first job, then mid-job in the third: sub-batch commits are the events we act on.
    for (const after of [4, 24]) {
      await waitFor(`${after} committed sub-batches`, async () => (await committedSubBatches(db)) >= after, 180_000, 20);
      await worker.kill('SIGKILL');
      const between = await partDoneJob(db);
      assert.ok(between, 'the kill landed inside a job, between two of its sub-batches');
      kills.push(`after ${between.subBatches} sub-batches of a job (cursor ${between.cursor})`);
      worker = await spawnWorker({ databaseUrl: db.url, taskQueue });
    }
    const summary = await handle.result();
    assert.equal(summary.state, 'finished');
    assert.equal(summary.rows, String(ROWS), "the workflow's row total is exact (a decimal string)");
  } finally {
    await worker.stop();
  }
  await assertExactlyOnce(db.pool, 'items', [label], ROWS);
  const log = await subBatchLog(db.pool);
  assertNoSubBatchTwice(log);
  assert.equal(log.length, ROWS / SUB_BATCH, 'one committed sub-batch per 100 rows');
  assert.ok(log.every((s) => s.rows === SUB_BATCH));
  assert.deepEqual(
    (await jobsOf(db.pool, label)).map((j) => [j.status, j.subBatches, j.attempts]),
    Array(ROWS / BATCH).fill([JobStatus.FINISHED, BATCH / SUB_BATCH, 1]),
    'each job committed its 10 sub-batches once, in one recorded attempt',
  );
  t.diagnostic(`killed ${kills.join('; ')}`);
});

test('sub-batch and tuning settings set by the CLI and changed by configure reach the store; a pause of the running repository lands between sub-batches with the cursor kept, and resume continues after it', async (t) => {
  const label = 'sbpausewf';
  const db = await setup(label, {}, false);
  const worker = await startTestWorker(db);
  const created = await bbm(
    [
      ...[
        '--json',
        'migrations',
        'create',
        '--name',
        label,
        '--repository',
        label,
        '--work',
        'increment',
        '--table',
        'items',
        '--column',
        'id',
      ],
      ...['--arg', 'target=counter', '--batch-size', String(BATCH), '--sub-batch-size', '500', '--sub-batch-pause-ms', '0'],
      ...['--target-job-ms', '800', '--min-batch-size', '500'],
    ],
    cliEnv(db.url, worker.taskQueue),
  );
  assert.equal(created.code, 0, shown(created));
  const { subBatchSize, subBatchPauseMs, targetJobMs, minBatchSize, maxBatchSize } = JSON.parse(created.stdout);
  assert.deepEqual(
    { subBatchSize, subBatchPauseMs, targetJobMs, minBatchSize, maxBatchSize },
    { subBatchSize: 500, subBatchPauseMs: 0, targetJobMs: 800, minBatchSize: 500, maxBatchSize: 1_000_000 },
  );
  // Someone else holds the repository, so the workflow waits while it is configured.
  await db.pool.query(
    "INSERT INTO bbm.leases (repository, holder, token, expires_at) VALUES ($1, 'someone-else', 1, now() + interval '1 hour')",
    [label],
  );
  const start = () =>
    worker.client.workflow.start(repositoryMigration, {
      taskQueue: worker.taskQueue,
      workflowId: repositoryWorkflowId(label),
      args: [{ repository: label, knobs: { minDelayMs: 1, maxDelayMs: 1, lockWaitTimeoutMs: 300 } }],
    });
  const first = await start();
  await waitFor('the workflow to wait for the lease', async () => (await first.query(progressQuery)).state === 'waiting_for_lease');
  await first.executeUpdate(configureUpdate, {
    args: [{ subBatchSize: SUB_BATCH, subBatchPauseMs: 500, targetJobMs: 0, minBatchSize: 900, migration: label }],
  });
  const configured = await migration(db.pool, label);
  assert.deepEqual(
    [configured.subBatchSize, configured.subBatchPauseMs, configured.targetJobMs, configured.minBatchSize, configured.maxBatchSize],
    [SUB_BATCH, 500, 0, 900, 1_000_000],
    'configure changed the tuning too (off here, so every job keeps its 1000 rows)',
  );
  await db.pool.query('DELETE FROM bbm.leases WHERE repository = $1', [label]);

  await waitFor('3 committed sub-batches', async () => (await committedSubBatches(db)) >= 3, 180_000, 20);
  const paused = await bbm(['migrations', 'pause', label], cliEnv(db.url, worker.taskQueue));
  assert.equal(paused.code, 0, shown(paused));
  // The CLI returns once the database shows the pause: from then on nothing may commit.
  const atPause = await committedSubBatches(db);
  assert.equal((await first.result()).state, 'paused');
  // Which job the pause lands in depends on how long the CLI takes to start; it must land inside one.
  const between = await partDoneJob(db);
  assert.ok(between, 'the pause stopped a job between two of its sub-batches');
  const committed = await committedSubBatches(db);
  assert.equal(committed, atPause, 'nothing ran after the pause');
  const { rows: done } = await db.pool.query(
    `SELECT coalesce(sum(sub_batches), 0)::int AS n FROM bbm.jobs WHERE status = ${JobStatus.FINISHED}`,
  );
  assert.equal(committed, done[0].n + between.subBatches, 'the finished jobs and the part-done one account for every committed sub-batch');
  assert.equal((await migration(db.pool, label)).rowsProcessed, BigInt(committed * SUB_BATCH), 'committed sub-batches are counted');

  const resumed = await bbm(['migrations', 'resume', label, '--start'], cliEnv(db.url, worker.taskQueue));
  assert.equal(resumed.code, 0, shown(resumed));
  assert.equal((await worker.client.workflow.getHandle(repositoryWorkflowId(label)).result()).state, 'finished');
  await assertExactlyOnce(db.pool, 'items', [label], ROWS);
  const log = await subBatchLog(db.pool);
  assertNoSubBatchTwice(log);
  assert.equal(log[committed]?.first, Number(between.cursor) + 1, 'the first sub-batch after the resume starts after the cursor');
  t.diagnostic(
    `paused after ${between.subBatches} sub-batches of a job (${committed} in all; cursor ${between.cursor}); resumed from id ${Number(between.cursor) + 1}`,
  );
});
