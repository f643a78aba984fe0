import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defineMigration } from '../src/engine/definitions';
import { BUILTIN_WORK } from '../src/engine/builtin-work';
import { WorkRegistry } from '../src/engine/registry';
import { repositoryWorkflowId } from '../src/contract/ids';
import { configureUpdate, progressQuery, resumeSignal } from '../src/contract/messages';
import { repositoryMigration } from '../workflows/repository';
import { createItems, createTestDatabase } from './helpers/db';
import { startTestWorker, testClient, uniqueTaskQueue } from './helpers/temporal';
import { waitFor } from './helpers/wait';
import { registryWith, slowIncrement } from './helpers/work';

test('a migration of 2,000 jobs continues as new and keeps every run under 10,000 history events', async () => {
  const db = await createTestDatabase('can');
  await createItems(db.pool, 'items', 2000);
  const registry = new WorkRegistry([...BUILTIN_WORK]);
  await defineMigration(
    { pool: db.pool, registry },
    {
      name: 'long',
      repository: 'long',
      work: 'increment',
      table: 'items',
      column: 'id',
      targetJobMs: 0,
      batchSize: 1,
      args: { target: 'counter' },
    },
  );
  const worker = await startTestWorker(db, { registry });
  const workflowId = repositoryWorkflowId('long');
  const handle = await worker.client.workflow.start(repositoryMigration, {
    taskQueue: worker.taskQueue,
    workflowId,
    args: [{ repository: 'long', knobs: { minDelayMs: 1, maxDelayMs: 1, maxJobPerBatch: 20, historyEventBudget: 1000 } }],
  });
  // Change a knob mid-run: it must survive continue-as-new.
  await waitFor('the first jobs', async () => (await db.pool.query('SELECT 1 FROM bbm.jobs WHERE status = 2 LIMIT 1')).rowCount);
  await handle.executeUpdate(configureUpdate, { args: [{ maxJobPerBatch: 25 }] });
  const summary = await handle.result();
  assert.equal(summary.state, 'finished');
  assert.equal(summary.jobs, 2000, 'totals are carried across runs');
  assert.equal(summary.rows, '2000');
  assert.ok(summary.runs > 1, `expected several runs, got ${summary.runs}`);

  const runs: number[] = [];
  for await (const execution of worker.client.workflow.list({ query: `WorkflowId="${workflowId}"` })) runs.push(execution.historyLength);
  assert.equal(runs.length, summary.runs);
  assert.ok(Math.max(...runs) < 10_000, `largest run has ${Math.max(...runs)} events`);
  const last = await worker.client.workflow.getHandle(workflowId).query(progressQuery);
  assert.equal(last.knobs.maxJobPerBatch, 25, 'the knob changed by update was carried into later runs');
  const { rows } = await db.pool.query('SELECT min(counter) AS lo, max(counter) AS hi FROM items');
  assert.deepEqual(rows[0], { lo: 1, hi: 1 });
});

test('a work function missing on the worker makes the repository wait visibly, then finish when a worker has it', async () => {
  const db = await createTestDatabase('missing');
  await createItems(db.pool, 'items', 60);
  const full = registryWith(slowIncrement(10, 'special'));
  await defineMigration(
    { pool: db.pool, registry: full },
    { name: 'needs_special', repository: 'special', work: 'special', table: 'items', column: 'id', targetJobMs: 0, batchSize: 20 },
  );
  const taskQueue = uniqueTaskQueue('missing');
  const old = await startTestWorker(db, { taskQueue, registry: new WorkRegistry([...BUILTIN_WORK]) });
  const client = await testClient(); // outlives the workers
  const handle = await client.workflow.start(repositoryMigration, {
    taskQueue,
    workflowId: repositoryWorkflowId('special'),
    args: [{ repository: 'special', knobs: { minDelayMs: 1, maxDelayMs: 1 } }],
  });

  const waiting = await waitFor('the waiting state', async () => {
    // A query before the first workflow task has completed can fail; keep polling.
    const p = await handle.query(progressQuery).catch(() => undefined);
    return p?.state === 'waiting_for_work_function' ? p : undefined;
  });
  assert.match(String(waiting.detail), /Work function "special" is not registered on this worker/);
  const { rows } = await db.pool.query("SELECT status, failure_error_code FROM bbm.migrations WHERE name = 'needs_special'");
  assert.deepEqual(rows[0], { status: 4, failure_error_code: null }, 'the migration is not failed');
  const { rows: jobs } = await db.pool.query('SELECT attempts FROM bbm.jobs');
  assert.deepEqual(
    jobs.map((j) => j.attempts),
    [0],
    'no attempt was spent',
  );

  // The rolling deploy completes: the old worker goes, a new one with the function arrives.
  await old.stop();
  await startTestWorker(db, { taskQueue, registry: full });
  await handle.signal(resumeSignal, {}); // cuts the 30 s wait short
  const summary = await handle.result();
  assert.equal(summary.state, 'finished');
  const { rows: counts } = await db.pool.query('SELECT min(counter) AS lo, max(counter) AS hi FROM items');
  assert.deepEqual(counts[0], { lo: 1, hi: 1 });
});
