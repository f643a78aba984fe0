import assert from 'node:assert/strict';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { defineMigration } from '../../../src/engine/definitions';
import { BUILTIN_WORK } from '../../../src/engine/builtin-work';
import { WorkRegistry } from '../../../src/engine/registry';
import { repositoryWorkflowId } from '../../../src/contract/ids';
import { repositoryMigration } from '../../../workflows/repository';
import { createTestDatabase } from '../../helpers/db';
import { startTestWorker, testClient, uniqueTaskQueue } from '../../helpers/temporal';
import { assertExactlyOnce, createCounterTable, waitFor, type ExactlyOnceReport } from './data';

export interface ConcurrentStartsReport extends ExactlyOnceReport {
  started: number;
  refused: number;
  executions: number;
  /** A start after the first run finished: a new run that finds nothing to do. */
  rerunJobs: number;
}

/**
 * `starts` concurrent starts of the same repository workflow: Temporal admits exactly one, the
 * others get WorkflowExecutionAlreadyStartedError, and the data is changed once. A late
 * duplicate (after the run finished) starts a run that finds nothing left and changes nothing.
 */
export async function concurrentStartsDrill(options: { label: string; starts: number; rows: number }): Promise<ConcurrentStartsReport> {
  const db = await createTestDatabase(options.label);
  await createCounterTable(db.pool, 'items', options.rows);
  const registry = new WorkRegistry([...BUILTIN_WORK]);
  const name = `${options.label}-m`;
  const repository = `${options.label}-repo`;
  await defineMigration(
    { pool: db.pool, registry },
    { name, repository, work: 'increment', table: 'items', column: 'id', targetJobMs: 0, batchSize: 1000, args: { target: 'counter' } },
  );
  const client = await testClient();
  const taskQueue = uniqueTaskQueue(options.label);
  const workflowId = repositoryWorkflowId(repository);
  const start = () =>
    client.workflow.start(repositoryMigration, { taskQueue, workflowId, args: [{ repository, knobs: { minDelayMs: 0, maxDelayMs: 0 } }] });

  // All starts race before any worker polls, so the first execution cannot finish in between.
  const settled = await Promise.allSettled(Array.from({ length: options.starts }, start));
  const started = settled.filter((s) => s.status === 'fulfilled');
  const refused = settled.filter((s): s is PromiseRejectedResult => s.status === 'rejected');
  assert.equal(started.length, 1, 'exactly one start must be admitted');
  for (const r of refused) assert.ok(r.reason instanceof WorkflowExecutionAlreadyStartedError, `unexpected refusal: ${String(r.reason)}`);

  await startTestWorker(db, { taskQueue, registry });
  const summary = await (started[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof start>>>).value.result();
  assert.equal(summary.state, 'finished');
  const report = await assertExactlyOnce(db.pool, 'items', [name], options.rows);

  let executions = 0;
  await waitFor(
    'the execution to be visible',
    async () => {
      executions = 0;
      for await (const _ of client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) executions += 1;
      return executions >= 1;
    },
    30_000,
    200,
  );
  assert.equal(executions, 1, 'more than one execution of the repository workflow');

  const late = await (await start()).result();
  assert.equal(late.state, 'finished');
  assert.equal(late.jobs, 0, 'a late duplicate must find nothing left to do');
  await assertExactlyOnce(db.pool, 'items', [name], options.rows);
  return { ...report, started: started.length, refused: refused.length, executions, rerunJobs: late.jobs };
}

export interface ConcurrentWakesReport extends ExactlyOnceReport {
  wakes: number;
  enqueuerExecutions: number;
  /** Executions per repository workflow (each must be 1). */
  repositoryExecutions: number[];
}

/**
 * `wakes` concurrent wake-ups of the enqueuer (signal-with-start): one enqueuer execution takes
 * them all, and each of its repositories is started exactly once.
 */
export async function concurrentWakesDrill(options: {
  label: string;
  wakes: number;
  repositories: number;
  rowsPerRepository: number;
}): Promise<ConcurrentWakesReport> {
  const { wakeEnqueuer } = await import('../../../src/enqueuer/client');
  const { enqueuerWorkflowId } = await import('../../../src/contract/ids');
  const db = await createTestDatabase(options.label);
  const rows = options.repositories * options.rowsPerRepository;
  await createCounterTable(db.pool, 'items', rows);
  const registry = new WorkRegistry([...BUILTIN_WORK]);
  const names: string[] = [];
  const repositories: string[] = [];
  for (let i = 0; i < options.repositories; i++) {
    const name = `${options.label}-m${i}`;
    const repository = `${options.label}-r${i}`;
    names.push(name);
    repositories.push(repository);
    const minValue = i * options.rowsPerRepository + 1;
    await defineMigration(
      { pool: db.pool, registry },
      {
        name,
        repository,
        work: 'increment',
        table: 'items',
        column: 'id',
        targetJobMs: 0,
        batchSize: 1000,
        minValue,
        maxValue: minValue + options.rowsPerRepository - 1,
        args: { target: 'counter' },
      },
    );
  }
  const client = await testClient();
  const taskQueue = uniqueTaskQueue(options.label);
  const worker = await startTestWorker(db, { taskQueue, registry });
  const settled = await Promise.allSettled(
    Array.from({ length: options.wakes }, (_, i) =>
      wakeEnqueuer(
        client,
        taskQueue,
        { reason: `test-${i}`, repositoryPrefix: options.label, knobs: { minDelayMs: 0, maxDelayMs: 0 } },
        { capacity: options.repositories },
      ),
    ),
  );
  const runIds = new Set<string>();
  for (const s of settled) {
    assert.equal(s.status, 'fulfilled', `a wake-up failed: ${s.status === 'rejected' ? String(s.reason) : ''}`);
    if (s.status === 'fulfilled') runIds.add(s.value.runId);
  }
  assert.equal(runIds.size, 1, 'every wake-up must land on the same enqueuer run');
  const enqueuerId = enqueuerWorkflowId(taskQueue);
  try {
    await waitFor(
      'every migration to finish',
      async () => {
        const { rows: r } = await db.pool.query('SELECT count(*)::int AS n FROM bbm.migrations WHERE name = ANY($1) AND status = 2', [
          names,
        ]);
        return r[0].n === names.length;
      },
      120_000,
      200,
    );
    for (const repository of repositories) await client.workflow.getHandle(repositoryWorkflowId(repository)).result();
    const report = await assertExactlyOnce(db.pool, 'items', names, rows);
    const count = async (workflowId: string): Promise<number> => {
      let n = 0;
      for await (const _ of client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) n += 1;
      return n;
    };
    let repositoryExecutions: number[] = [];
    await waitFor(
      'the executions to be visible',
      async () => {
        repositoryExecutions = await Promise.all(repositories.map((r) => count(repositoryWorkflowId(r))));
        return repositoryExecutions.every((n) => n >= 1);
      },
      30_000,
      200,
    );
    assert.deepEqual(
      repositoryExecutions,
      repositories.map(() => 1),
      'a repository was started more than once',
    );
    const enqueuerExecutions = await count(enqueuerId);
    assert.equal(enqueuerExecutions, 1, 'more than one enqueuer execution');
    return { ...report, wakes: options.wakes, enqueuerExecutions, repositoryExecutions };
  } finally {
    await client.workflow
      .getHandle(enqueuerId)
      .terminate('test done')
      .catch(() => undefined);
    await worker.stop();
  }
}
