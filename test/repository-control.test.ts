import assert from 'node:assert/strict';
import { resumeMigrations } from '../src/engine/control';
import { test } from 'node:test';
import { WorkflowExecutionAlreadyStartedError, WorkflowFailedError } from '@temporalio/client';
import { defineMigration } from '../src/engine/definitions';
import { repositoryWorkflowId } from '../src/contract/ids';
import { configureUpdate, pauseSignal, progressQuery, resumeSignal, retrySignal } from '../src/contract/messages';
import { repositoryMigration } from '../workflows/repository';
import { createItems, createTestDatabase } from './helpers/db';
import { startTestWorker } from './helpers/temporal';
import { waitFor } from './helpers/wait';
import { registryWith, slowIncrement } from './helpers/work';

// A 1 ms timer between batches ends the workflow task, so signals and updates are handled per batch.
const FAST = { minDelayMs: 1, maxDelayMs: 1 };

/** An update refused by its validator fails with WorkflowUpdateFailedError; the reason is in the cause. */
function rejectedWith(pattern: RegExp): (err: unknown) => boolean {
  return (err) => {
    const cause = (err as { cause?: { message?: string; type?: string } }).cause;
    assert.match(cause?.message ?? '', pattern);
    assert.equal(cause?.type, 'INVALID_INPUT');
    return true;
  };
}

async function counters(pool: import('pg').Pool, table = 'items'): Promise<{ lo: number; hi: number; n: number }> {
  const { rows } = await pool.query(`SELECT min(counter) AS lo, max(counter) AS hi, count(*)::int AS n FROM ${table}`);
  return rows[0];
}

test('pause, resume, configure and progress work while a repository migration runs', async () => {
  const db = await createTestDatabase('control');
  await createItems(db.pool, 'items', 600);
  const registry = registryWith(slowIncrement(60));
  await defineMigration(
    { pool: db.pool, registry },
    { name: 'ctl', repository: 'ctl', work: 'slow_increment', table: 'items', column: 'id', targetJobMs: 0, batchSize: 20 },
  );
  const worker = await startTestWorker(db, { registry });
  const handle = await worker.client.workflow.start(repositoryMigration, {
    taskQueue: worker.taskQueue,
    workflowId: repositoryWorkflowId('ctl'),
    args: [{ repository: 'ctl', knobs: FAST }],
  });

  const running = await waitFor('a finished job in the progress query', async () => {
    const p = await handle.query(progressQuery);
    return p.migrations[0] && p.migrations[0].jobs.finished >= 2 ? p : undefined;
  });
  assert.equal(running.repository, 'ctl');
  assert.equal(running.migrations[0]?.name, 'ctl');
  assert.ok(running.migrations[0]!.percent > 0 && running.migrations[0]!.percent < 100);
  assert.ok(running.migrations[0]!.currentRange !== null);

  await assert.rejects(
    handle.executeUpdate(configureUpdate, { args: [{ maxJobPerBatch: 0 }] }),
    rejectedWith(/maxJobPerBatch must be an integer from 1/),
  );
  await assert.rejects(
    handle.executeUpdate(configureUpdate, { args: [{ minDelayMs: 50, maxDelayMs: 10 }] }),
    rejectedWith(/must not exceed maxDelayMs/),
  );
  const knobs = await handle.executeUpdate(configureUpdate, { args: [{ maxJobPerBatch: 2, batchSize: 50 }] });
  assert.equal(knobs.maxJobPerBatch, 2);
  const { rows: bs } = await db.pool.query("SELECT batch_size FROM bbm.migrations WHERE name = 'ctl'");
  assert.equal(bs[0].batch_size, 50);

  await handle.signal(pauseSignal, {});
  const paused = await waitFor('the migration to be paused', async () => {
    const { rows } = await db.pool.query("SELECT status FROM bbm.migrations WHERE name = 'ctl'");
    return rows[0].status === 0 ? true : undefined;
  });
  assert.ok(paused);
  const summary = await handle.result();
  assert.equal(summary.state, 'paused', 'a paused repository ends its workflow with state paused');
  const mid = await counters(db.pool);
  assert.equal(mid.hi, 1, 'no row is touched twice');
  assert.equal(mid.lo, 0, 'pausing left work undone');

  // Resuming by signal-with-start continues where it stopped, and finishes every row exactly once.
  const again = await worker.client.workflow.signalWithStart(repositoryMigration, {
    taskQueue: worker.taskQueue,
    workflowId: repositoryWorkflowId('ctl'),
    args: [{ repository: 'ctl', knobs: FAST }],
    signal: resumeSignal,
    signalArgs: [{}],
  });
  const done = await again.result();
  assert.equal(done.state, 'finished');
  assert.deepEqual(await counters(db.pool), { lo: 1, hi: 1, n: 600 });
});

test('a duplicate start of a running repository yields one execution and an already-started error', async () => {
  const db = await createTestDatabase('dup');
  await createItems(db.pool, 'items', 200);
  const registry = registryWith(slowIncrement(30));
  await defineMigration(
    { pool: db.pool, registry },
    { name: 'dup', repository: 'dup', work: 'slow_increment', table: 'items', column: 'id', targetJobMs: 0, batchSize: 20 },
  );
  const worker = await startTestWorker(db, { registry });
  const options = {
    taskQueue: worker.taskQueue,
    workflowId: repositoryWorkflowId('dup'),
    args: [{ repository: 'dup', knobs: FAST }] as [import('../src/contract/workflows').RepositoryWorkflowInput],
  };
  const results = await Promise.allSettled(Array.from({ length: 10 }, () => worker.client.workflow.start(repositoryMigration, options)));
  const started = results.filter((r) => r.status === 'fulfilled');
  const refused = results.filter((r) => r.status === 'rejected');
  assert.equal(started.length, 1);
  assert.equal(refused.length, 9);
  for (const r of refused) assert.ok((r as PromiseRejectedResult).reason instanceof WorkflowExecutionAlreadyStartedError);
  await (started[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof worker.client.workflow.start>>>).value.result();
  assert.deepEqual(await counters(db.pool), { lo: 1, hi: 1, n: 200 });
});

test('two repositories run concurrently on one worker', async () => {
  const db = await createTestDatabase('two');
  await createItems(db.pool, 'a_items', 200);
  await createItems(db.pool, 'b_items', 200);
  const registry = registryWith(slowIncrement(40));
  await defineMigration(
    { pool: db.pool, registry },
    { name: 'a', work: 'slow_increment', table: 'a_items', column: 'id', targetJobMs: 0, batchSize: 20 },
  );
  await defineMigration(
    { pool: db.pool, registry },
    { name: 'b', work: 'slow_increment', table: 'b_items', column: 'id', targetJobMs: 0, batchSize: 20 },
  );
  const worker = await startTestWorker(db, { registry });
  const start = (repo: string) =>
    worker.client.workflow.execute(repositoryMigration, {
      taskQueue: worker.taskQueue,
      workflowId: repositoryWorkflowId(repo),
      args: [{ repository: repo, knobs: FAST }],
    });
  const [a, b] = await Promise.all([start('public.a_items'), start('public.b_items')]);
  assert.equal(a.state, 'finished');
  assert.equal(b.state, 'finished');
  // Overlap: each repository's first job started before the other's last job finished.
  const { rows } = await db.pool.query(
    `SELECT m.name, min(j.started_at) AS first_start, max(j.finished_at) AS last_end FROM bbm.jobs j JOIN bbm.migrations m ON m.id = j.migration_id GROUP BY m.name ORDER BY m.name`,
  );
  assert.ok(rows[0].first_start < rows[1].last_end && rows[1].first_start < rows[0].last_end, 'the two repositories overlapped in time');
  assert.deepEqual(await counters(db.pool, 'a_items'), { lo: 1, hi: 1, n: 200 });
  assert.deepEqual(await counters(db.pool, 'b_items'), { lo: 1, hi: 1, n: 200 });
});

test('cancelling a repository workflow rolls back the job in flight and pauses the migration, which a resume takes to the end', async () => {
  const db = await createTestDatabase('cancel');
  await createItems(db.pool, 'items', 100);
  const registry = registryWith(slowIncrement(3000));
  await defineMigration(
    { pool: db.pool, registry },
    { name: 'c', repository: 'c', work: 'slow_increment', table: 'items', column: 'id', targetJobMs: 0, batchSize: 25 },
  );
  const worker = await startTestWorker(db, { registry });
  // Regular activities: cancellation reaches the job in flight through its heartbeat.
  const knobs = { ...FAST, localActivities: false };
  const handle = await worker.client.workflow.start(repositoryMigration, {
    taskQueue: worker.taskQueue,
    workflowId: repositoryWorkflowId('c'),
    args: [{ repository: 'c', knobs }],
  });
  await waitFor('one finished job', async () => (await db.pool.query('SELECT 1 FROM bbm.jobs WHERE status = 2')).rowCount);
  // The second job is in flight: its work is sleeping inside its transaction.
  await waitFor(
    'the second job in flight',
    async () =>
      (
        await db.pool.query(
          "SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' AND query LIKE 'SELECT pg_sleep%'",
        )
      ).rowCount,
  );
  await handle.cancel();
  await assert.rejects(handle.result(), (err: unknown) => err instanceof WorkflowFailedError);
  const { rows } = await db.pool.query("SELECT status FROM bbm.migrations WHERE name = 'c'");
  assert.equal(rows[0].status, 0, 'the cancel paused the migration, so nothing starts it again behind the operator');
  const finishedRows = Number(
    (await db.pool.query('SELECT coalesce(sum(rows_affected), 0) AS n FROM bbm.jobs WHERE status = 2')).rows[0].n,
  );
  const touched = Number((await db.pool.query('SELECT count(*) AS n FROM items WHERE counter = 1')).rows[0].n);
  assert.equal(touched, finishedRows, 'only finished jobs changed rows: the in-flight one was rolled back');
  const { rows: lease } = await db.pool.query("SELECT expires_at <= now() AS free FROM bbm.leases WHERE repository = 'c'");
  assert.equal(lease[0].free, true, 'the lease was released');

  assert.deepEqual(await resumeMigrations(db.pool, { repository: 'c' }), ['c']);
  const resumed = await worker.client.workflow.execute(repositoryMigration, {
    taskQueue: worker.taskQueue,
    workflowId: repositoryWorkflowId('c'),
    args: [{ repository: 'c', knobs: FAST }],
  });
  assert.equal(resumed.state, 'finished');
  assert.deepEqual(await counters(db.pool), { lo: 1, hi: 1, n: 100 });
});

for (const via of ['bbm migrations retry, then the retry signal', 'the retry signal alone'] as const) {
  test(`retrying a failed migration while its repository workflow still runs gets it picked up by that run (${via})`, async () => {
    const db = await createTestDatabase('retryrun');
    await createItems(db.pool, 'a_items', 40);
    await createItems(db.pool, 'b_items', 200);
    let broken = true;
    const flaky = {
      name: 'flaky',
      description: 'fails until the test repairs it',
      async run(ctx: import('../src/engine/registry').WorkContext) {
        if (broken) throw new Error('not yet');
        const r = await ctx.client.query(`UPDATE ${ctx.quotedTable} SET counter = counter + 1 WHERE id BETWEEN $1 AND $2`, [
          ctx.start,
          ctx.end,
        ]);
        return r.rowCount ?? 0;
      },
    };
    const registry = registryWith(flaky, slowIncrement(150));
    await defineMigration(
      { pool: db.pool, registry },
      { name: 'first', repository: 'rr-flaky', work: 'flaky', table: 'a_items', column: 'id', targetJobMs: 0, batchSize: 20 },
    );
    await defineMigration(
      { pool: db.pool, registry },
      { name: 'second', repository: 'rr-flaky', work: 'slow_increment', table: 'b_items', column: 'id', targetJobMs: 0, batchSize: 10 },
    );
    const worker = await startTestWorker(db, { registry });
    const handle = await worker.client.workflow.start(repositoryMigration, {
      taskQueue: worker.taskQueue,
      workflowId: repositoryWorkflowId('rr-flaky'),
      args: [{ repository: 'rr-flaky', knobs: { ...FAST, maxJobAttempts: 1 } }],
    });
    await waitFor(
      'the first migration to fail',
      async () => (await db.pool.query("SELECT 1 FROM bbm.migrations WHERE name = 'first' AND status = 3")).rowCount,
    );

    broken = false;
    if (via === 'bbm migrations retry, then the retry signal') {
      const { retryMigration } = await import('../src/engine/control');
      await retryMigration(db.pool, 'first');
    }
    await handle.signal(retrySignal, { migration: 'first' });
    const summary = await handle.result();
    assert.equal(summary.state, 'finished');
    const { rows } = await db.pool.query('SELECT name, status FROM bbm.migrations ORDER BY id');
    assert.deepEqual(
      rows.map((r) => [r.name, r.status]),
      [
        ['first', 2],
        ['second', 2],
      ],
    );
    assert.deepEqual(await counters(db.pool, 'a_items'), { lo: 1, hi: 1, n: 40 });
  });
}
