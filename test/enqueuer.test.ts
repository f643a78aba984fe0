import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import type { Pool } from 'pg';
import { defineMigration } from '../src/engine/definitions';
import { ErrorCode, isBbmError } from '../src/errors';
import { enqueuerStatus, getCapacity, setCapacity, wakeEnqueuer } from '../src/enqueuer/client';
import { eligibleRepositories } from '../src/store/eligible';
import { runToCompletion, type RunProgress } from '../src/enqueuer/run';
import { deleteSchedule, ensureSchedule } from '../src/enqueuer/schedule';
import { enqueuerScheduleId, enqueuerWorkflowId, repositoryWorkflowId } from '../src/contract/ids';
import { capacityQuery, progressQuery, setCapacityUpdate } from '../src/contract/messages';
import { DEFAULT_KNOBS } from '../src/knobs';
import { repositoryMigration } from '../workflows/repository';
import {
  FAST,
  alwaysFails,
  closedExecutions,
  defineRepositories,
  maxConcurrency,
  startLoggingWorker,
  withCleanup,
  waitForMigrations,
  wakeUpLines,
} from './helpers/enqueuer';
import { counters, createTestDatabase } from './helpers/db';
import { startTestWorker } from './helpers/temporal';
import { waitFor } from './helpers/wait';
import { gatedWork, registryWith } from './helpers/work';

test('eligible repositories: interrupted ones first, then oldest; never paused-only, failed-only or running ones; a prefix filters', async () => {
  const db = await createTestDatabase('enq_select');
  await defineRepositories(db, 8, { prefix: 'r' });
  // r001 old and active, r002 newer and interrupted (running), r003 paused only, r004 failed only,
  // r005 finished, r006 paused + active (eligible), r007 active but running elsewhere, r008 newest.
  const set = (repo: string, status: number, ageHours: number): Promise<unknown> =>
    db.pool.query(`UPDATE bbm.migrations SET status = $2, created_at = now() - make_interval(hours => $3) WHERE repository = $1`, [
      repo,
      status,
      ageHours,
    ]);
  await set('r001', 1, 50);
  await set('r002', 4, 10);
  await set('r003', 0, 90);
  await set('r004', 3, 90);
  await set('r005', 2, 90);
  await set('r006', 1, 40);
  await set('r007', 1, 80);
  await set('r008', 1, 1);
  await db.pool.query(
    `INSERT INTO bbm.migrations (name, repository, job_name, table_name, column_name, batch_size, batching_strategy, status, created_at)
     VALUES ('m_r006_paused', 'r006', 'increment', 'public.items', 'id', 10, 'serial', 0, now() - interval '100 hours')`,
  );

  const all = await eligibleRepositories(db.pool, { running: ['r007', 'r404'], limit: 10, prefixes: null });
  assert.deepEqual(all.next, ['r002', 'r001', 'r006', 'r008']);
  assert.deepEqual(all.running, ['r007']);

  const two = await eligibleRepositories(db.pool, { running: [], limit: 2, prefixes: null });
  assert.deepEqual(two.next, ['r002', 'r007']);

  await db.pool.query(`UPDATE bbm.migrations SET repository = 'tenant-a/' || repository WHERE repository IN ('r001', 'r008')`);
  const filtered = await eligibleRepositories(db.pool, { running: [], limit: 10, prefixes: ['tenant-a/', 'r00'] });
  assert.deepEqual(filtered.next, ['r002', 'r007', 'tenant-a/r001', 'r006', 'tenant-a/r008']);
  const onlyTenant = await eligibleRepositories(db.pool, { running: [], limit: 10, prefixes: ['tenant-a/'] });
  assert.deepEqual(onlyTenant.next, ['tenant-a/r001', 'tenant-a/r008']);
});

test('50 concurrent triggers start one enqueuer, and every repository runs exactly once within the capacity', async () => {
  const db = await createTestDatabase('enq_triggers');
  const keys = await defineRepositories(db, 20);
  const worker = await startTestWorker(db);
  const { client, taskQueue } = worker;
  await withCleanup(worker, async () => {
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => wakeEnqueuer(client, taskQueue, { reason: `trigger-${i}`, knobs: FAST }, { capacity: 3 })),
    );
    assert.equal(new Set(results.map((r) => r.runId)).size, 1, 'every trigger landed on the same enqueuer run');

    await waitForMigrations(db.pool, 120_000);
    const executions = await closedExecutions(client, taskQueue, 20);
    assert.equal(executions.length, 20, 'one execution per repository');
    assert.deepEqual([...new Set(executions.map((e) => e.repository))].sort(), keys);
    assert.ok(
      executions.every((e) => e.status === 'COMPLETED'),
      JSON.stringify(executions.filter((e) => e.status !== 'COMPLETED')),
    );
    assert.ok(maxConcurrency(executions) <= 3, `at most 3 at once, saw ${maxConcurrency(executions)}`);
    assert.deepEqual(await counters(db.pool), { lo: 1, hi: 1, n: 60 });

    const enqueuers = [];
    for await (const wf of client.workflow.list({ query: `WorkflowId="${enqueuerWorkflowId(taskQueue)}"` })) enqueuers.push(wf);
    assert.equal(enqueuers.length, 1, 'a single enqueuer execution');
    const status = await enqueuerStatus(client, taskQueue);
    assert.equal(status?.startedTotal, 20);
    console.log(`# 50 triggers + 20 completions: ${status!.wakeUps} wake-ups`);
    assert.ok(status!.wakeUps < 50, `the 50 triggers coalesced (${status!.wakeUps} wake-ups in all)`);
  });
});

test('a capacity change takes effect at the next start, 0 stops new starts, and invalid capacities are refused without a change', async () => {
  const db = await createTestDatabase('enq_capacity');
  // Repositories wait at the gate until the test has seen what it needs: how many run at once
  // depends on the capacity alone, not on how fast the machine finishes them.
  const gate = gatedWork();
  const registry = registryWith(gate.work);
  await defineRepositories(db, 14, { registry, work: 'gated' });
  const worker = await startTestWorker(db, { registry });
  const { client, taskQueue } = worker;
  await withCleanup(worker, async () => {
    const handle = client.workflow.getHandle(enqueuerWorkflowId(taskQueue));
    let before = 0;
    try {
      await wakeEnqueuer(client, taskQueue, { reason: 'test', knobs: FAST }, { capacity: 2 });
      await waitFor('two repositories running', async () =>
        (await enqueuerStatus(client, taskQueue))?.running.length === 2 ? true : undefined,
      );

      for (const bad of [-1, 1.5, 'x', 100_000, null]) {
        await assert.rejects(
          handle.executeUpdate(setCapacityUpdate, { args: [{ capacity: bad as number }] }),
          (err: unknown) => {
            assert.ok(err instanceof WorkflowUpdateFailedError);
            const cause = err.cause as { message?: string; type?: string };
            assert.equal(cause.type, ErrorCode.INVALID_INPUT);
            assert.match(cause.message ?? '', /capacity must be an integer from 0 \(start nothing new\) to 1000; got/);
            return true;
          },
          `capacity ${JSON.stringify(bad)} must be refused`,
        );
      }
      await assert.rejects(setCapacity(client, taskQueue, 2.5), (err: unknown) => isBbmError(err, ErrorCode.INVALID_INPUT));
      assert.equal(await handle.query(capacityQuery), 2, 'refused updates leave the capacity unchanged');
      assert.equal((await enqueuerStatus(client, taskQueue))?.running.length, 2, 'still two: nothing could finish');

      before = Date.now();
      assert.equal(await setCapacity(client, taskQueue, 4), 4);
      assert.equal(await getCapacity(client, taskQueue), 4);
      const raised = await waitFor('four repositories running', async () => {
        const s = await enqueuerStatus(client, taskQueue);
        return s?.running.length === 4 ? s : undefined;
      });
      assert.equal(raised.reason, 'capacity', 'the capacity change itself woke the enqueuer');
      assert.equal(raised.started.length, 2);
      assert.equal(await setCapacity(client, taskQueue, 0), 0);
    } finally {
      gate.open();
    }

    // Running ones finish; nothing new starts.
    await waitFor('no repository running at capacity 0', async () => {
      const s = await enqueuerStatus(client, taskQueue);
      return s && s.capacity === 0 && s.running.length === 0 && s.pending === 0 ? true : undefined;
    });
    const idle = await activeMigrations(db.pool);
    assert.equal(idle, 10, 'ten repositories were left waiting');
    // A wake-up at capacity 0 finds work but starts none of it.
    const quiet = await enqueuerStatus(client, taskQueue);
    await wakeEnqueuer(client, taskQueue, { reason: 'probe' });
    const probed = await waitFor('the probe wake-up', async () => {
      const s = await enqueuerStatus(client, taskQueue);
      return s && s.wakeUps > quiet!.wakeUps && s.pending === 0 ? s : undefined;
    });
    assert.deepEqual([probed.reason, probed.started, probed.atCapacity], ['probe', [], true]);
    assert.equal(await activeMigrations(db.pool), idle, 'capacity 0 starts nothing');

    await setCapacity(client, taskQueue, 3);
    await waitForMigrations(db.pool, 120_000);
    const executions = await closedExecutions(client, taskQueue, 14);
    assert.equal(executions.length, 14);
    // Before the raise at most 2 ran; at no time more than 4.
    const early = executions.filter((e) => e.start < before);
    assert.ok(early.length >= 2 && maxConcurrency(early) <= 2, `before the raise: ${maxConcurrency(early)} at once`);
    assert.ok(maxConcurrency(executions) <= 4, `never more than 4, saw ${maxConcurrency(executions)}`);
  });
});

async function activeMigrations(pool: Pool): Promise<number> {
  const { rows } = await pool.query('SELECT count(*)::int AS n FROM bbm.migrations WHERE status = 1');
  return rows[0].n;
}

test('the wake-up log reports a repository already running, and no_repository_found when nothing is eligible', async () => {
  const db = await createTestDatabase('enq_logs');
  // Both repositories wait at the gate until the first wake-up has been read: r1 is still running
  // when the enqueuer looks, however slow the machine.
  const gate = gatedWork();
  const registry = registryWith(gate.work);
  const [r1, r2] = await defineRepositories(db, 2, { registry, work: 'gated' });
  const worker = await startLoggingWorker(db, { registry });
  const { client, taskQueue } = worker;
  await withCleanup(worker, async () => {
    try {
      // The first repository started by hand (the seed's lease held by someone else), then a wake-up.
      await client.workflow.start(repositoryMigration, {
        taskQueue,
        workflowId: repositoryWorkflowId(r1!),
        args: [{ repository: r1!, knobs: FAST }],
      });
      await wakeEnqueuer(client, taskQueue, { reason: 'test-already', knobs: FAST }, { capacity: 5 });
      const first = await waitFor('the first wake-up line', async () =>
        wakeUpLines(worker.lines).find((l) => String(l.reason).includes('test-already')),
      );
      assert.deepEqual(first.already_running, [r1]);
      assert.deepEqual(first.started, [r2]);
      assert.equal(first.no_repository_found, false);
      assert.equal(first.capacity, 5);
      assert.equal(typeof first.running, 'number');
      assert.equal(first.workflow_id, enqueuerWorkflowId(taskQueue));
    } finally {
      gate.open();
    }
    for (const r of [r1!, r2!]) await client.workflow.getHandle(repositoryWorkflowId(r)).result();
    assert.deepEqual(await waitForMigrations(db.pool, 60_000), { 2: 2 });

    // Both repositories told the enqueuer they ended; once it has seen them close it has nothing
    // left to look at, so no wake-up of its own can come between the test's and the status read.
    const quiet = await waitFor(
      'the enqueuer to settle',
      async () => {
        const s = await enqueuerStatus(client, taskQueue);
        return s && s.pending === 0 && s.tracked.length === 0 && s.running.length === 0 ? s : undefined;
      },
      120_000,
    );
    const linesBefore = worker.lines.length;
    await wakeEnqueuer(client, taskQueue, { reason: 'test-empty' });
    const status = await waitFor('the status to show the empty wake-up', async () => {
      const s = await enqueuerStatus(client, taskQueue);
      return s && s.wakeUps > quiet.wakeUps && s.pending === 0 ? s : undefined;
    });
    assert.equal(status.wakeUps, quiet.wakeUps + 1, "exactly one wake-up: the test's");
    assert.equal(status.reason, 'test-empty');
    assert.equal(status.noRepositoryFound, true);
    assert.deepEqual(status.started, []);
    const empty = await waitFor('the empty wake-up line', async () =>
      wakeUpLines(worker.lines.slice(linesBefore)).find((l) => l.reason === 'test-empty'),
    );
    assert.equal(empty.no_repository_found, true);
    assert.deepEqual(empty.started, []);
    assert.deepEqual(empty.already_running, []);
    // One line per wake-up: as many lines as the status counts wake-ups.
    assert.equal(wakeUpLines(worker.lines).length, status.wakeUps);
  });
});

test('a cancelled repository stays stopped: the cancel pauses its migrations, so the enqueuer it notifies finds nothing to start', async () => {
  const db = await createTestDatabase('enq_cancel');
  const gate = gatedWork();
  const registry = registryWith(gate.work);
  const [r1] = await defineRepositories(db, 1, { registry, work: 'gated' });
  const worker = await startLoggingWorker(db, { registry });
  const { client, taskQueue } = worker;
  await withCleanup(worker, async () => {
    const handle = client.workflow.getHandle(repositoryWorkflowId(r1!));
    try {
      await wakeEnqueuer(client, taskQueue, { reason: 'test-cancel', knobs: FAST }, { capacity: 5 });
      await waitFor('the job to wait at the gate', async () => gate.waiting() > 0 || undefined);
      // As `temporal workflow cancel` or the web UI would: straight to Temporal, not through bbm.
      await handle.cancel();
      await assert.rejects(handle.result(), /cancel/i);
    } finally {
      gate.open();
    }
    const line = await waitFor('the wake-up the cancelled repository caused', async () =>
      wakeUpLines(worker.lines).find((l) => String(l.reason).split(',').includes(`repository:${r1}`)),
    );
    assert.deepEqual(line.started, [], 'the enqueuer started nothing');
    assert.equal(line.no_repository_found, true);
    assert.equal((await handle.describe()).status.name, 'CANCELLED', 'the newest run of the repository is the cancelled one');
    const { rows } = await db.pool.query('SELECT status FROM bbm.migrations');
    assert.deepEqual(
      rows.map((r) => Number(r.status)),
      [0],
      'the migration is paused',
    );
    assert.deepEqual(await counters(db.pool), { lo: 0, hi: 0, n: 3 }, 'the job in flight rolled back');
  });
});

test('knobs sent with a prefixed wake apply to that prefix only; other repositories keep the default knobs', async () => {
  const db = await createTestDatabase('enq_scoped_knobs');
  const gate = gatedWork();
  const registry = registryWith(gate.work);
  const [scoped] = await defineRepositories(db, 1, { registry, work: 'gated' });
  const [plain] = await defineRepositories(db, 1, { registry, work: 'gated', table: 'items_b' });
  const worker = await startLoggingWorker(db, { registry });
  const { client, taskQueue } = worker;
  const prefix = scoped!.slice(0, -3);
  await withCleanup(worker, async () => {
    try {
      await wakeEnqueuer(
        client,
        taskQueue,
        { reason: 'test-scoped', repositoryPrefix: prefix, knobs: { ...FAST, maxJobAttempts: 1 } },
        { capacity: 5 },
      );
      await wakeEnqueuer(client, taskQueue, { reason: 'test-plain', repositoryPrefix: plain!.slice(0, -3) });
      await waitFor('both jobs to wait at the gate', async () => gate.waiting() >= 2 || undefined);
      const knobsOf = async (r: string) => (await client.workflow.getHandle(repositoryWorkflowId(r)).query(progressQuery)).knobs;
      assert.equal((await knobsOf(scoped!)).maxJobAttempts, 1, 'the scoped knobs');
      assert.equal((await knobsOf(plain!)).maxJobAttempts, DEFAULT_KNOBS.maxJobAttempts, "the defaults, not the other prefix's knobs");
      const status = await enqueuerStatus(client, taskQueue);
      assert.deepEqual(status?.knobs, {});
      assert.deepEqual(status?.knobsByPrefix, { [prefix]: { ...FAST, maxJobAttempts: 1 } });
    } finally {
      gate.open();
    }
    for (const r of [scoped!, plain!]) await client.workflow.getHandle(repositoryWorkflowId(r)).result();
  });
});

test('the schedule is created idempotently and its tick wakes the enqueuer, whether it runs or not', async () => {
  const db = await createTestDatabase('enq_schedule');
  const keys = await defineRepositories(db, 2);
  const worker = await startLoggingWorker(db);
  const { client, taskQueue } = worker;
  await withCleanup(worker, async () => {
    assert.deepEqual(await ensureSchedule(client, taskQueue, { intervalSeconds: 3600 }), {
      scheduleId: enqueuerScheduleId(taskQueue),
      created: true,
      settings: { intervalSeconds: 3600, paused: false },
    });
    assert.deepEqual(await ensureSchedule(client, taskQueue, { intervalSeconds: 1800 }), {
      scheduleId: enqueuerScheduleId(taskQueue),
      created: false,
      settings: { intervalSeconds: 1800, paused: false },
      before: { intervalSeconds: 3600, paused: false },
    });
    const handle = client.schedule.getHandle(enqueuerScheduleId(taskQueue));
    const described = await handle.describe();
    assert.equal(described.spec.intervals?.[0]?.every, 1_800_000);
    assert.equal(described.action.type, 'startWorkflow');
    assert.equal(described.action.workflowType, 'enqueuerTick');
    await assert.rejects(ensureSchedule(client, taskQueue, { intervalSeconds: 0 }), (err: unknown) =>
      isBbmError(err, ErrorCode.INVALID_INPUT),
    );
    assert.equal(await enqueuerStatus(client, taskQueue), undefined, 'no enqueuer before the first tick');

    // First tick: no enqueuer yet, so the tick's signal-with-start starts it.
    await handle.trigger();
    const first = await waitFor(
      'a wake-up by the schedule',
      async () => wakeUpLines(worker.lines).find((l) => String(l.reason).split(',').includes('schedule')),
      30_000,
    );
    assert.deepEqual(first.started, keys);
    await waitForMigrations(db.pool, 60_000);

    // Second tick: the enqueuer runs, so the tick only signals it.
    await handle.trigger();
    const second = await waitFor(
      'a second wake-up by the schedule',
      async () => wakeUpLines(worker.lines).filter((l) => String(l.reason).split(',').includes('schedule'))[1],
      30_000,
    );
    assert.equal(second.no_repository_found, true);
    const runs = [];
    for await (const wf of client.workflow.list({ query: `WorkflowId="${enqueuerWorkflowId(taskQueue)}"` })) runs.push(wf.runId);
    assert.equal(new Set(runs).size, 1, 'both ticks reached the same enqueuer run');

    assert.equal(await deleteSchedule(client, taskQueue), true);
    assert.equal(await deleteSchedule(client, taskQueue), false);
  });
});

test('runToCompletion resumes paused migrations, reports progress, and returns the failed ones', async () => {
  const db = await createTestDatabase('enq_run');
  const registry = registryWith(alwaysFails());
  const keys = await defineRepositories(db, 4, { registry });
  await db.pool.query('UPDATE bbm.migrations SET status = 0 WHERE repository = $1', [keys[1]]);
  const worker = await startTestWorker(db, { registry });
  const { client, taskQueue } = worker;
  await withCleanup(worker, async () => {
    const progress: RunProgress[] = [];
    const ok = await runToCompletion({
      client,
      pool: db.pool,
      taskQueue,
      enqueuer: { capacity: 2 },
      knobs: FAST,
      pollIntervalMs: 200,
      onProgress: (p) => progress.push(p),
    });
    assert.deepEqual(
      { finished: ok.finished, failed: ok.failed, paused: ok.paused, total: ok.total, ok: ok.ok, resumed: ok.resumed },
      { finished: 4, failed: 0, paused: 0, total: 4, ok: true, resumed: [`m_${keys[1]}`] },
    );
    assert.ok(progress.length >= 1);
    assert.equal(progress[progress.length - 1]!.percent, 100);
    assert.ok(progress.every((p) => p.percent >= 0 && p.percent <= 100 && p.total === 4));

    // Let the first run's last wake-ups settle, so the new migrations are started by the second run.
    await waitFor('an idle enqueuer', async () => {
      const s = await enqueuerStatus(client, taskQueue);
      return s && s.pending === 0 && s.running.length === 0 && s.tracked.length === 0 ? true : undefined;
    });
    // A migration whose work always throws fails after one attempt (maxJobAttempts forwarded by the enqueuer).
    await db.pool.query('CREATE TABLE more (id bigint PRIMARY KEY, counter integer NOT NULL DEFAULT 0)');
    await db.pool.query('INSERT INTO more (id) SELECT generate_series(1, 6)');
    await defineMigration(
      { pool: db.pool, registry },
      { name: 'bad', repository: `${keys[0]}-bad`, work: 'always_fails', table: 'more', column: 'id', targetJobMs: 0, batchSize: 10 },
    );
    await defineMigration(
      { pool: db.pool, registry },
      {
        name: 'good',
        repository: `${keys[0]}-good`,
        work: 'increment',
        table: 'more',
        column: 'id',
        targetJobMs: 0,
        batchSize: 10,
        args: { target: 'counter' },
      },
    );
    const t0 = Date.now();
    const failed = await runToCompletion({ client, pool: db.pool, taskQueue, maxJobAttempts: 1, knobs: FAST, pollIntervalMs: 200 });
    assert.equal(failed.failed, 1);
    assert.deepEqual(failed.failedMigrations, ['bad']);
    assert.equal(failed.finished, 5);
    assert.equal(failed.ok, false);
    const { rows } = await db.pool.query(
      "SELECT j.attempts FROM bbm.jobs j JOIN bbm.migrations m ON m.id = j.migration_id WHERE m.name = 'bad'",
    );
    assert.deepEqual(
      rows.map((r) => r.attempts),
      [1],
      'one attempt: the knob reached the repository workflow',
    );
    assert.ok(Date.now() - t0 < 60_000);
  });
});

test('capacity, waiting repositories and pending wake-ups survive continue-as-new', async () => {
  const db = await createTestDatabase('enq_can');
  await defineRepositories(db, 20);
  const worker = await startTestWorker(db);
  const { client, taskQueue } = worker;
  await withCleanup(worker, async () => {
    await wakeEnqueuer(client, taskQueue, { reason: 'test', knobs: FAST }, { capacity: 2, historyEventBudget: 100 });
    await setCapacity(client, taskQueue, 3);
    await waitForMigrations(db.pool, 120_000);
    const executions = await closedExecutions(client, taskQueue, 20);
    assert.equal(executions.length, 20);
    assert.ok(maxConcurrency(executions) <= 3, `never more than 3, saw ${maxConcurrency(executions)}`);
    const status = await waitFor('a settled status', async () => {
      const s = await enqueuerStatus(client, taskQueue);
      return s && s.startedTotal === 20 && s.pending === 0 ? s : undefined;
    });
    assert.ok(status.runs > 1, `continued as new (${status.runs} runs)`);
    assert.equal(status.capacity, 3, 'the capacity set by update was carried');
    assert.deepEqual(status.knobs, FAST, 'the knobs were carried');
    const runs = [];
    for await (const wf of client.workflow.list({ query: `WorkflowId="${enqueuerWorkflowId(taskQueue)}"` })) runs.push(wf.status.name);
    assert.equal(runs.filter((s) => s === 'RUNNING').length, 1);
    assert.ok(runs.filter((s) => s === 'CONTINUED_AS_NEW').length >= 1);
  });
});
