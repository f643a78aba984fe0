import assert from 'node:assert/strict';
import { test } from 'node:test';
import { repositoryWorkflowId } from '../src/contract/ids';
import { progressQuery } from '../src/contract/messages';
import { defineMigration } from '../src/engine/definitions';
import { repositoryMigration } from '../workflows/repository';
import { createItems, createTestDatabase } from './helpers/db';
import { startTestWorker } from './helpers/temporal';
import { waitFor } from './helpers/wait';
import { registryWith, slowIncrement } from './helpers/work';

test('workflow code runs with no stack frames captured (workflows/sandbox-setup.ts), and the repository still migrates', async () => {
  const db = await createTestDatabase('sandbox');
  await createItems(db.pool, 'items', 200);
  const registry = registryWith(slowIncrement(20));
  await defineMigration(
    { pool: db.pool, registry },
    { name: 'sbx', repository: 'sandbox_frames', work: 'slow_increment', table: 'items', column: 'id', targetJobMs: 0, batchSize: 10 },
  );
  const worker = await startTestWorker(db, { registry });
  const handle = await worker.client.workflow.start(repositoryMigration, {
    taskQueue: worker.taskQueue,
    workflowId: repositoryWorkflowId('sandbox_frames'),
    args: [{ repository: 'sandbox_frames', knobs: { minDelayMs: 1, maxDelayMs: 1 } }],
  });
  await waitFor('a finished job', async () => ((await handle.query(progressQuery)).migrations[0]?.jobs.finished ?? 0) >= 1);
  // The SDK's own query answers from the stacks its promise hook captured: with V8's default of 10
  // frames it lists the workflow's pending promises as "    at runRound (...)" lines.
  const stacks = await handle.query<string>('__stack_trace');
  assert.equal(typeof stacks, 'string');
  assert.doesNotMatch(stacks, /^\s+at /m);
  await handle.result();
  const { rows } = await db.pool.query('SELECT min(counter) AS lo, max(counter) AS hi FROM items');
  assert.deepEqual(rows[0], { lo: 1, hi: 1 });
});
