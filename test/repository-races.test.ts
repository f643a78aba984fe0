// Requests that reach a repository workflow while it completes or continues as new: each must be
// applied or carried into the next run, never dropped, and never overwrite the final state.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WorkflowFailedError, WorkflowUpdateStage, type Client, type WorkflowHandle } from '@temporalio/client';
import { defineMigration } from '../src/engine/definitions';
import { JobStatus, MigrationStatus } from '../src/engine/constants';
import { repositoryWorkflowId } from '../src/contract/ids';
import { configureUpdate, pauseSignal, resumeSignal, retrySignal } from '../src/contract/messages';
import type { RepositoryWorkflow } from '../src/contract/workflows';
import { repositoryMigration } from '../workflows/repository';
import { ActivityGate, beforeEnd } from './helpers/activity-gate';
import { createItems, createTestDatabase, type TestDatabase } from './helpers/db';
import { startTestWorker, type TestWorker } from './helpers/temporal';
import { waitFor } from './helpers/wait';
import { registryWith, slowIncrement } from './helpers/work';
import { alwaysFails } from './helpers/enqueuer';

const FAST = { minDelayMs: 1, maxDelayMs: 1 };
const ROUNDS = 3;

type Request = 'pause' | 'resume' | 'configure';

interface CompletionCase {
  what: string;
  /**
   * The bookends' kind: with local activities (the default knobs) the final read and the notice
   * run inside the workflow task that completes the run, with regular ones each is a task of its
   * own. A configure is sent with regular activities only: its update is accepted in a workflow
   * task, and the gate holds the local activity, and with it the workflow task, until then.
   */
  kinds?: Array<'local' | 'regular'>;
  /** Start with a pause (signal-with-start), so the run's final state is `paused`. */
  paused: boolean;
  /** The completion step during which the requests arrive: the final read, or the notice to the enqueuer. */
  at: 'repositoryProgress' | 'notifyEnqueuer';
  send: Request[];
  state: 'finished' | 'paused';
}

const CASES: CompletionCase[] = [
  { what: 'a pause after it decided finished', paused: false, at: 'notifyEnqueuer', send: ['pause'], state: 'finished' },
  { what: 'a pause during the final read of a finished run', paused: false, at: 'repositoryProgress', send: ['pause'], state: 'finished' },
  { what: 'a second pause after it decided paused', paused: true, at: 'notifyEnqueuer', send: ['pause'], state: 'paused' },
  { what: 'a pause during the final read of a paused run', paused: true, at: 'repositoryProgress', send: ['pause'], state: 'paused' },
  { what: 'a resume after it decided paused', paused: true, at: 'notifyEnqueuer', send: ['resume'], state: 'finished' },
  { what: 'a resume during the final read of a paused run', paused: true, at: 'repositoryProgress', send: ['resume'], state: 'finished' },
  { what: 'a resume then a pause after it decided paused', paused: true, at: 'notifyEnqueuer', send: ['resume', 'pause'], state: 'paused' },
  {
    what: 'a configure after it decided paused',
    paused: true,
    at: 'notifyEnqueuer',
    send: ['configure'],
    state: 'paused',
    kinds: ['regular'],
  },
  {
    what: 'a configure during the final read of a finished run',
    paused: false,
    at: 'repositoryProgress',
    send: ['configure'],
    state: 'finished',
    kinds: ['regular'],
  },
];

const NEW_BATCH_SIZE = 7;

/** Sends `requests` in order; a configure is awaited only until the workflow accepted it. */
async function send(handle: WorkflowHandle<RepositoryWorkflow>, requests: Request[]): Promise<Array<Promise<unknown>>> {
  const updates: Array<Promise<unknown>> = [];
  for (const r of requests) {
    if (r === 'pause') await handle.signal(pauseSignal, {});
    else if (r === 'resume') await handle.signal(resumeSignal, {});
    else {
      const update = await handle.startUpdate(configureUpdate, {
        args: [{ batchSize: NEW_BATCH_SIZE, maxJobPerBatch: 2 }],
        waitForStage: WorkflowUpdateStage.ACCEPTED,
      });
      updates.push(update.result());
    }
  }
  return updates;
}

async function runCase(
  db: TestDatabase,
  worker: TestWorker,
  gate: ActivityGate,
  c: CompletionCase,
  key: string,
  kind: 'local' | 'regular',
): Promise<void> {
  const table = key.replace(/\W/g, '_');
  await createItems(db.pool, table, 30);
  await defineMigration(
    { pool: db.pool, registry: worker.registry },
    { name: key, repository: key, work: 'increment', table, column: 'id', targetJobMs: 0, batchSize: 10, args: { target: 'counter' } },
  );
  const client: Client = worker.client;
  const handle = client.workflow.getHandle<RepositoryWorkflow>(repositoryWorkflowId(key));
  let updates: Array<Promise<unknown>> = [];
  // Skip the run's first progress read (at its start); the next one is the final decision's.
  const fired = gate.arm(
    c.at,
    key,
    async () => {
      updates = await send(handle, c.send);
    },
    c.at === 'repositoryProgress' ? 1 : 0,
  );
  const knobs = { ...FAST, localActivities: kind === 'local' };
  const options = { taskQueue: worker.taskQueue, workflowId: repositoryWorkflowId(key), args: [{ repository: key, knobs }] as const };
  if (c.paused)
    await client.workflow.signalWithStart(repositoryMigration, {
      ...options,
      args: [...options.args],
      signal: pauseSignal,
      signalArgs: [{}],
    });
  else await client.workflow.start(repositoryMigration, { ...options, args: [...options.args] });
  const result = handle.result();
  await beforeEnd(result, fired, `the requests at ${c.at}`);
  const summary = await result;
  for (const knobs of (await Promise.all(updates)) as Array<{ maxJobPerBatch: number }>) assert.equal(knobs.maxJobPerBatch, 2);

  const { rows } = await db.pool.query('SELECT status, batch_size FROM bbm.migrations WHERE name = $1', [key]);
  const { rows: data } = await db.pool.query(`SELECT min(counter) AS lo, max(counter) AS hi FROM ${table}`);
  const label = `${c.what}, ${kind} activities (${key})`;
  assert.equal(summary.state, c.state, `${label}: the result's state`);
  assert.equal(
    rows[0].status,
    c.state === 'finished' ? MigrationStatus.FINISHED : MigrationStatus.PAUSED,
    `${label}: the migration's status`,
  );
  assert.equal(summary.migrations[0]?.status, c.state, `${label}: the result's migration status`);
  if (c.state === 'finished') assert.deepEqual([data[0].lo, data[0].hi], [1, 1], `${label}: every row exactly once`);
  else assert.ok(data[0].hi <= 1, `${label}: no row touched twice`);
  if (c.send.includes('configure') && c.state === 'paused')
    assert.equal(rows[0].batch_size, NEW_BATCH_SIZE, `${label}: batch size applied`);
}

test('pause, resume and configure arriving while a repository workflow completes, on local or regular activities, are applied, and its result matches the database', async () => {
  const db = await createTestDatabase('races');
  const gate = new ActivityGate();
  const worker = await startTestWorker(db, { interceptors: gate.interceptors });
  for (let round = 0; round < ROUNDS; round++) {
    await Promise.all(
      CASES.flatMap((c, i) =>
        (c.kinds ?? ['local', 'regular']).map((kind) => runCase(db, worker, gate, c, `race-${round}-${i}-${kind}`, kind)),
      ),
    );
  }
});

test('pause, resume and configure arriving while a repository workflow continues as new are carried into the next run', async (t) => {
  const db = await createTestDatabase('races-can');
  const gate = new ActivityGate();
  // 20 ms per job: the run cannot reach its end while the test is still choosing moments.
  const worker = await startTestWorker(db, { interceptors: gate.interceptors, registry: registryWith(slowIncrement(20)) });
  const key = 'race-can';
  await createItems(db.pool, 'items', 4_000);
  await defineMigration(
    { pool: db.pool, registry: worker.registry },
    { name: key, repository: key, work: 'slow_increment', table: 'items', column: 'id', targetJobMs: 0, batchSize: 10 },
  );
  const handle = await worker.client.workflow.start(repositoryMigration, {
    taskQueue: worker.taskQueue,
    workflowId: repositoryWorkflowId(key),
    args: [{ repository: key, knobs: { ...FAST, maxJobPerBatch: 1, historyEventBudget: 50_000 } }],
  });
  const BUDGET = 500;
  const iterations = 6;
  for (let i = 0; i < iterations; i++) {
    const before = (await handle.describe()).runId;
    // No-op configure updates lengthen the history quickly (a few events each), whatever the machine's speed.
    while ((await handle.describe()).historyLength <= BUDGET + 20)
      await Promise.all(Array.from({ length: 10 }, () => handle.executeUpdate(configureUpdate, { args: [{}] })));
    // While the pause is applied (top of the loop), a lower history budget makes the next step a
    // continue-as-new; the resume and configure sent meanwhile must reach the next run.
    let update: Promise<unknown> | undefined;
    const fired = gate.arm('controlMigrations', key, async () => {
      await handle.startUpdate(configureUpdate, { args: [{ historyEventBudget: BUDGET }], waitForStage: WorkflowUpdateStage.ACCEPTED });
      await handle.signal(resumeSignal, {});
      const u = await handle.startUpdate(configureUpdate, { args: [{ batchSize: 30 + i }], waitForStage: WorkflowUpdateStage.ACCEPTED });
      update = u.result();
    });
    await handle.signal(pauseSignal, {});
    await beforeEnd(handle.result(), fired, 'the pause was applied');
    await waitFor('the next run', async () => ((await handle.describe()).runId !== before ? true : undefined), 120_000);
    await update;
    // A budget that ends no run by itself, so the next iteration chooses its moment again.
    await handle.executeUpdate(configureUpdate, { args: [{ historyEventBudget: 50_000 }] });
    const { rows } = await db.pool.query('SELECT batch_size FROM bbm.migrations WHERE name = $1', [key]);
    assert.equal(rows[0].batch_size, 30 + i, 'the configure sent during continue-as-new was applied');
    await waitFor('the carried resume to be applied', async () => {
      const r = await db.pool.query('SELECT status FROM bbm.migrations WHERE name = $1', [key]);
      return [MigrationStatus.ACTIVE, MigrationStatus.RUNNING].includes(r.rows[0].status) ? true : undefined;
    });
  }
  // Finish quickly.
  await handle.executeUpdate(configureUpdate, { args: [{ batchSize: 1_000, maxJobPerBatch: 100 }] });
  const summary = await handle.result();
  t.diagnostic(`${summary.runs} runs, ${summary.jobs} jobs, ${summary.batches} batches`);
  assert.equal(summary.state, 'finished');
  assert.ok(summary.runs >= iterations + 1, `continued as new at least ${iterations} times (runs: ${summary.runs})`);
  const { rows } = await db.pool.query('SELECT min(counter) AS lo, max(counter) AS hi, count(*)::int AS n FROM items');
  assert.deepEqual(rows[0], { lo: 1, hi: 1, n: 4_000 });
});

test('a retry that reached a repository workflow just before its cancellation is still applied, and the cancel then pauses what it made runnable', async () => {
  const db = await createTestDatabase('races-cancel');
  const registry = registryWith(slowIncrement(3_000), alwaysFails());
  const worker = await startTestWorker(db, { registry });
  await createItems(db.pool, 'items', 100);
  await createItems(db.pool, 'bad_items', 10);
  const define = (name: string, work: string, table: string) =>
    defineMigration({ pool: db.pool, registry }, { name, repository: 'pc', work, table, column: 'id', targetJobMs: 0, batchSize: 25 });
  await define('bad', 'always_fails', 'bad_items');
  await define('slow', 'slow_increment', 'items');
  // Regular activities: the cancellation reaches the job in flight at once, before the retry is applied.
  const handle = await worker.client.workflow.start(repositoryMigration, {
    taskQueue: worker.taskQueue,
    workflowId: repositoryWorkflowId('pc'),
    args: [{ repository: 'pc', knobs: { ...FAST, localActivities: false, maxJobAttempts: 1 } }],
  });
  const status = async (name: string): Promise<number> =>
    Number((await db.pool.query('SELECT status FROM bbm.migrations WHERE name = $1', [name])).rows[0].status);
  await waitFor('"bad" to fail', async () => (await status('bad')) === MigrationStatus.FAILED || undefined);
  await waitFor(
    'a job of "slow" in flight',
    async () =>
      (
        await db.pool.query(
          `SELECT 1 FROM bbm.jobs j JOIN bbm.migrations m ON m.id = j.migration_id WHERE m.name = 'slow' AND j.status = ${JobStatus.ACTIVE}`,
        )
      ).rowCount,
  );
  await handle.signal(retrySignal, { migration: 'bad' });
  await handle.cancel();
  await assert.rejects(handle.result(), (err: unknown) => err instanceof WorkflowFailedError);
  // Unapplied, the retry would leave "bad" failed; applied, it made "bad" runnable, and the cancel paused it with "slow".
  assert.equal(await status('bad'), MigrationStatus.PAUSED, 'the retry sent before the cancel was applied');
  assert.equal(await status('slow'), MigrationStatus.PAUSED, 'the cancel paused the migration it interrupted');
});
