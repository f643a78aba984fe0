import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defineMigration } from '../../src/engine/definitions';
import { BUILTIN_WORK } from '../../src/engine/builtin-work';
import { WorkRegistry } from '../../src/engine/registry';
import { repositoryWorkflowId } from '../../src/contract/ids';
import { repositoryMigration } from '../../workflows/repository';
import { createTestDatabase } from '../helpers/db';
import { testClient, uniqueTaskQueue } from '../helpers/temporal';
import { spawnWorker, type WorkerProcess } from '../helpers/worker-process';
import { assertExactlyOnce, createCounterTable } from './lib/data';

const REPOSITORIES = 6;
const ROWS_PER_REPOSITORY = 10_000;

test('two worker processes on one task queue share a 6-repository run, and every row is incremented exactly once', async (t) => {
  const db = await createTestDatabase('two-workers');
  const rows = REPOSITORIES * ROWS_PER_REPOSITORY;
  await createCounterTable(db.pool, 'items', rows);
  const registry = new WorkRegistry([...BUILTIN_WORK]);
  const names: string[] = [];
  for (let i = 0; i < REPOSITORIES; i++) {
    const minValue = i * ROWS_PER_REPOSITORY + 1;
    names.push(`two-m${i}`);
    await defineMigration(
      { pool: db.pool, registry },
      {
        name: `two-m${i}`,
        repository: `two-r${i}`,
        work: 'increment',
        table: 'items',
        column: 'id',
        targetJobMs: 0,
        batchSize: 500,
        minValue,
        maxValue: minValue + ROWS_PER_REPOSITORY - 1,
        args: { target: 'counter' },
      },
    );
  }
  const taskQueue = uniqueTaskQueue('two-workers');
  const workers: WorkerProcess[] = await Promise.all([
    spawnWorker({ databaseUrl: db.url, taskQueue }),
    spawnWorker({ databaseUrl: db.url, taskQueue }),
  ]);
  try {
    const client = await testClient();
    // Half the repositories use regular activities, which any worker may pick up; the rest local ones.
    const handles = await Promise.all(
      names.map((_, i) =>
        client.workflow.start(repositoryMigration, {
          taskQueue,
          workflowId: repositoryWorkflowId(`two-r${i}`),
          args: [{ repository: `two-r${i}`, knobs: { minDelayMs: 0, maxDelayMs: 50, maxJobPerBatch: 4, localActivities: i % 2 === 1 } }],
        }),
      ),
    );
    const summaries = await Promise.all(handles.map((h) => h.result()));
    for (const s of summaries) assert.equal(s.state, 'finished');
    const report = await assertExactlyOnce(db.pool, 'items', names, rows);

    // Which worker did what, from the histories' task-started identities.
    const identities = new Map<string, number>();
    for (const h of handles) {
      const history = await h.fetchHistory();
      for (const e of history.events ?? []) {
        const identity = e.workflowTaskStartedEventAttributes?.identity ?? e.activityTaskStartedEventAttributes?.identity;
        if (identity) identities.set(identity, (identities.get(identity) ?? 0) + 1);
      }
    }
    const ours = [...identities.keys()].filter((id) => workers.some((w) => id === `worker-main-${w.pid}`));
    assert.equal(ours.length, 2, `both workers should have run tasks; saw ${JSON.stringify([...identities])}`);
    t.diagnostic(
      `${REPOSITORIES} repositories, ${report.jobs} jobs, tasks per worker: ${ours.map((id) => `${id}=${identities.get(id)}`).join(', ')}; ${report.rows} rows at exactly 1`,
    );
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
  }
});
