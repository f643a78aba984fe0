// `npm run replay:record`: run representative executions on the real servers and save their
// histories as the replay fixtures (test/replay/fixtures/). Run it after a deliberate change to
// workflow behaviour (see the README, "Changing workflow code safely"); test/unit/replay.test.ts
// replays every fixture against the current code.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { WorkflowFailedError, type Client } from '@temporalio/client';
import type { History } from '@temporalio/common/lib/proto-utils';
import { defineMigration } from '../../src/engine/definitions';
import { JobStatus, MigrationStatus } from '../../src/engine/constants';
import { enqueuerStatus, setCapacity, wakeEnqueuer } from '../../src/enqueuer/client';
import { enqueuerWorkflowId, repositoryWorkflowId } from '../../src/contract/ids';
import { configureUpdate, pauseSignal, resumeSignal, retrySignal } from '../../src/contract/messages';
import { WORKFLOW_TYPES, type EnqueuerTickWorkflow } from '../../src/contract/workflows';
import { repositoryMigration } from '../../workflows/repository';
import { ActivityGate } from '../helpers/activity-gate';
import { createItems, createTestDatabase } from '../helpers/db';
import { startTestWorker } from '../helpers/temporal';
import { waitFor } from '../helpers/wait';
import { registryWith, slowIncrement } from '../helpers/work';
import { FIXTURES_DIR, historyToJson, type FixtureEntry } from './fixtures';

const entries: FixtureEntry[] = [];

/** Save every run of `workflowId` from `firstRunId` on, following continue-as-new, as `<name>-<n>.json`. */
async function save(client: Client, workflowId: string, firstRunId: string, name: string, what: string): Promise<void> {
  const runs: History[] = [];
  let runId: string | undefined = firstRunId;
  while (runId) {
    const history: History = await client.workflow.getHandle(workflowId, runId).fetchHistory();
    runs.push(history);
    const last = history.events?.[history.events.length - 1];
    runId = last?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? undefined;
  }
  for (const [i, history] of runs.entries()) {
    const file = `${name}-${i + 1}.json`;
    fs.writeFileSync(path.join(FIXTURES_DIR, file), `${historyToJson(history)}\n`);
    entries.push({ file, workflowId, what: `${what} (run ${i + 1} of ${runs.length})`, events: history.events?.length ?? 0 });
  }
}

for (const localActivities of [true, false]) {
  const label = localActivities ? 'local' : 'regular';
  test(`records a repository workflow (${label} activities) through a failed job, pause, resume, configure, retry, a request during completion and continue-as-new`, async () => {
    const db = await createTestDatabase(`replay-${label}`);
    let broken = true;
    const flaky = {
      name: 'flaky',
      description: 'fails until the recorder repairs it',
      async run(ctx: import('../../src/engine/registry').WorkContext) {
        if (broken) throw new Error('not yet');
        const r = await ctx.client.query(`UPDATE ${ctx.quotedTable} SET counter = counter + 1 WHERE id BETWEEN $1 AND $2`, [
          ctx.start,
          ctx.end,
        ]);
        return r.rowCount ?? 0;
      },
    };
    const gate = new ActivityGate();
    const registry = registryWith(flaky, slowIncrement(50));
    const worker = await startTestWorker(db, { registry, interceptors: gate.interceptors, taskQueue: `bbm-replay-${label}` });
    const key = `replay-${label}`;
    await createItems(db.pool, 'a_items', 20);
    await createItems(db.pool, 'b_items', 2_000);
    await defineMigration(
      { pool: db.pool, registry },
      { name: `${key}-flaky`, repository: key, work: 'flaky', table: 'a_items', column: 'id', targetJobMs: 0, batchSize: 10 },
    );
    await defineMigration(
      { pool: db.pool, registry },
      { name: `${key}-main`, repository: key, work: 'slow_increment', table: 'b_items', column: 'id', targetJobMs: 0, batchSize: 10 },
    );
    const handle = await worker.client.workflow.start(repositoryMigration, {
      taskQueue: worker.taskQueue,
      workflowId: repositoryWorkflowId(key),
      args: [{ repository: key, knobs: { minDelayMs: 1, maxDelayMs: 1, maxJobAttempts: 2, historyEventBudget: 50_000, localActivities } }],
    });
    const status = async (name: string): Promise<number> =>
      (await db.pool.query('SELECT status FROM bbm.migrations WHERE name = $1', [name])).rows[0].status;
    await waitFor('the flaky migration to fail', async () =>
      (await status(`${key}-flaky`)) === MigrationStatus.FAILED ? true : undefined,
    );
    await handle.signal(pauseSignal, { migration: `${key}-main` });
    await handle.signal(resumeSignal, { migration: `${key}-main` });
    await handle.executeUpdate(configureUpdate, { args: [{ batchSize: 15, maxJobPerBatch: 2 }] });
    broken = false;
    await handle.signal(retrySignal, { migration: `${key}-flaky` });
    await waitFor('the retried migration to finish', async () =>
      (await status(`${key}-flaky`)) === MigrationStatus.FINISHED ? true : undefined,
    );
    // Continue as new: a longer history, then a budget it has passed.
    while ((await handle.describe()).historyLength <= 520)
      await Promise.all(Array.from({ length: 10 }, () => handle.executeUpdate(configureUpdate, { args: [{}] })));
    const firstRun = (await handle.describe()).runId;
    await handle.executeUpdate(configureUpdate, { args: [{ historyEventBudget: 500 }] });
    await waitFor('the next run', async () => ((await handle.describe()).runId !== firstRun ? true : undefined));
    // A request during completion: the run decides again and ends.
    const fired = gate.arm('notifyEnqueuer', key, async () => {
      await handle.signal(pauseSignal, {});
    });
    await handle.executeUpdate(configureUpdate, { args: [{ historyEventBudget: 50_000, maxJobPerBatch: 10, batchSize: 400 }] });
    await fired;
    const summary = await handle.result();
    assert.equal(summary.state, 'finished');
    await save(
      worker.client,
      repositoryWorkflowId(key),
      handle.firstExecutionRunId,
      `repository-${label}`,
      `repository workflow, ${label} activities`,
    );
  });
}

test('records a repository workflow cancelled while a job is in flight, right after a pause request', async () => {
  const db = await createTestDatabase('replay-cancel');
  const registry = registryWith(slowIncrement(3_000));
  const worker = await startTestWorker(db, { registry, taskQueue: 'bbm-replay-cancel' });
  const key = 'replay-cancel';
  await createItems(db.pool, 'items', 100);
  await createItems(db.pool, 'other_items', 100);
  const define = (name: string, table: string) =>
    defineMigration(
      { pool: db.pool, registry },
      { name, repository: key, work: 'slow_increment', table, column: 'id', targetJobMs: 0, batchSize: 25 },
    );
  await define(`${key}-slow`, 'items');
  await define(`${key}-other`, 'other_items');
  // Regular activities: the cancellation reaches the job in flight at once, before the pause is applied.
  const handle = await worker.client.workflow.start(repositoryMigration, {
    taskQueue: worker.taskQueue,
    workflowId: repositoryWorkflowId(key),
    args: [{ repository: key, knobs: { minDelayMs: 1, maxDelayMs: 1, localActivities: false } }],
  });
  await waitFor(
    'a job in flight',
    async () => (await db.pool.query(`SELECT 1 FROM bbm.jobs WHERE status = ${JobStatus.ACTIVE}`)).rowCount || undefined,
  );
  await handle.signal(pauseSignal, { migration: `${key}-other` });
  await handle.cancel();
  await assert.rejects(handle.result(), (err: unknown) => err instanceof WorkflowFailedError);
  const { rows } = await db.pool.query('SELECT count(*)::int AS n FROM bbm.migrations WHERE status = $1', [MigrationStatus.PAUSED]);
  assert.equal(rows[0].n, 2, 'the cancel paused both migrations');
  await save(
    worker.client,
    repositoryWorkflowId(key),
    handle.firstExecutionRunId,
    'repository-cancelled',
    'repository workflow, cancelled',
  );
});

test('records the enqueuer through wake-ups, a capacity change and continue-as-new, and a schedule tick', async () => {
  const db = await createTestDatabase('replay-enq');
  const registry = registryWith(slowIncrement(50));
  const worker = await startTestWorker(db, { registry, taskQueue: 'bbm-replay-enqueuer' });
  const repositories = ['replay-e1', 'replay-e2', 'replay-e3'];
  for (const [i, repository] of repositories.entries()) {
    await createItems(db.pool, `items${i}`, 40);
    await defineMigration(
      { pool: db.pool, registry },
      { name: repository, repository, work: 'slow_increment', table: `items${i}`, column: 'id', targetJobMs: 0, batchSize: 10 },
    );
  }
  const client = worker.client;
  const { runId } = await wakeEnqueuer(
    client,
    worker.taskQueue,
    { reason: 'replay' },
    { capacity: 1, historyEventBudget: 100, recheckSeconds: 60 },
  );
  const report = async () => (await enqueuerStatus(client, worker.taskQueue))!;
  await waitFor('one repository started', async () => (await report()).startedTotal >= 1 || undefined);
  await setCapacity(client, worker.taskQueue, 3);
  // The same capacity again changes nothing (and records nothing).
  await setCapacity(client, worker.taskQueue, 3);
  await waitFor(
    'every migration finished',
    async () => {
      const { rows } = await db.pool.query('SELECT count(*)::int AS n FROM bbm.migrations WHERE status = $1', [MigrationStatus.FINISHED]);
      return rows[0].n === repositories.length || undefined;
    },
    120_000,
  );
  // More wake-ups until the history passes its budget and the enqueuer continues as new.
  await waitFor(
    'the enqueuer to continue as new',
    async () => {
      if ((await report()).runs >= 2) return true;
      await wakeEnqueuer(client, worker.taskQueue, { reason: 'replay-more', repositoryPrefix: 'replay-' });
      return undefined;
    },
    120_000,
    200,
  );
  const before = (await report()).wakeUps;
  await wakeEnqueuer(client, worker.taskQueue, { reason: 'replay-after' });
  await waitFor('a wake-up in the new run', async () => (await report()).wakeUps > before || undefined);
  await client.workflow.getHandle(enqueuerWorkflowId(worker.taskQueue)).terminate('replay fixture recorded');
  await save(client, enqueuerWorkflowId(worker.taskQueue), runId, 'enqueuer', 'enqueuer');

  const tick = await client.workflow.start<EnqueuerTickWorkflow>(WORKFLOW_TYPES.enqueuerTick, {
    taskQueue: worker.taskQueue,
    workflowId: 'bbm-enqueuer-schedule/bbm-replay-enqueuer-tick',
    args: [{ reason: 'replay' }],
  });
  await tick.result();
  await client.workflow.getHandle(enqueuerWorkflowId(worker.taskQueue)).terminate('replay fixture recorded');
  await save(client, tick.workflowId, tick.firstExecutionRunId, 'enqueuer-tick', 'enqueuer tick (what the schedule starts)');
});

test('writes the fixture index', () => {
  entries.sort((a, b) => a.file.localeCompare(b.file));
  assert.ok(entries.length >= 5, `${entries.length} fixtures recorded`);
  fs.writeFileSync(path.join(FIXTURES_DIR, 'index.json'), `${JSON.stringify(entries, null, 2)}\n`);
});
