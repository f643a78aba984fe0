import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defineMigration } from '../src/engine/definitions';
import { WorkRegistry } from '../src/engine/registry';
import { BUILTIN_WORK } from '../src/engine/builtin-work';
import { repositoryWorkflowId } from '../src/contract/ids';
import { repositoryMigration } from '../workflows/repository';
import { SA } from '../src/contract/search-attributes';
import { createItems, createTestDatabase } from './helpers/db';
import { startTestWorker } from './helpers/temporal';
import { startLoggingWorker } from './helpers/enqueuer';

const FAST = { minDelayMs: 0, maxDelayMs: 0 };

test('a repository with three migrations runs them to completion in the engine order', async () => {
  const db = await createTestDatabase('repo3');
  await createItems(db.pool, 'items', 1000);
  const registry = new WorkRegistry([...BUILTIN_WORK]);
  for (const [i, name] of ['m1', 'm2', 'm3'].entries()) {
    await defineMigration(
      { pool: db.pool, registry },
      {
        name,
        repository: 'r1',
        work: 'increment',
        table: 'items',
        column: 'id',
        targetJobMs: 0,
        batchSize: 100 + i * 100,
        args: { target: 'counter' },
      },
    );
  }
  const worker = await startTestWorker(db, { registry });
  const handle = await worker.client.workflow.start(repositoryMigration, {
    taskQueue: worker.taskQueue,
    workflowId: repositoryWorkflowId('r1'),
    args: [{ repository: 'r1', knobs: FAST }],
  });
  const summary = await handle.result();
  assert.equal(summary.state, 'finished');
  assert.deepEqual(summary.migrationsFinished, ['m1', 'm2', 'm3']);
  assert.equal(summary.rows, '3000');
  const { rows } = await db.pool.query('SELECT min(counter) AS lo, max(counter) AS hi FROM items');
  assert.deepEqual(rows[0], { lo: 3, hi: 3 });
  const order = await db.pool.query('SELECT m.name FROM bbm.jobs j JOIN bbm.migrations m ON m.id = j.migration_id ORDER BY j.id');
  const firstSeen = [...new Set(order.rows.map((r) => r.name))];
  assert.deepEqual(firstSeen, ['m1', 'm2', 'm3']);

  // What the web UI shows: search attributes kept current, and the definitions in the memo.
  const description = await handle.describe();
  assert.equal(description.typedSearchAttributes.get(SA.repository), 'r1');
  assert.equal(description.typedSearchAttributes.get(SA.status), 'finished');
  assert.equal(description.typedSearchAttributes.get(SA.progress), 100);
  const memo = description.memo as { migrations: { name: string; work: string; table: string }[] };
  assert.deepEqual(
    memo.migrations.map((m) => [m.name, m.work, m.table]),
    [
      ['m1', 'increment', 'public.items'],
      ['m2', 'increment', 'public.items'],
      ['m3', 'increment', 'public.items'],
    ],
  );
});

test('a repository workflow runs a serial migration with one find for its first job and one to finish it: the rest are found ahead', async () => {
  const db = await createTestDatabase('repofa');
  await createItems(db.pool, 'items', 1000);
  const registry = new WorkRegistry([...BUILTIN_WORK]);
  await defineMigration(
    { pool: db.pool, registry },
    {
      name: 'fa',
      repository: 'rfa',
      work: 'increment',
      table: 'items',
      column: 'id',
      batchSize: 100,
      targetJobMs: 0,
      args: { target: 'counter' },
    },
  );
  const worker = await startTestWorker(db, { registry });
  // Regular activities: each call is an ActivityTaskScheduled event naming its activity.
  const handle = await worker.client.workflow.start(repositoryMigration, {
    taskQueue: worker.taskQueue,
    workflowId: repositoryWorkflowId('rfa'),
    args: [{ repository: 'rfa', knobs: { ...FAST, localActivities: false, maxJobPerBatch: 100 } }],
  });
  const summary = await handle.result();
  assert.equal(summary.state, 'finished');
  const { rows } = await db.pool.query('SELECT min(counter) AS lo, max(counter) AS hi, count(*)::int AS n FROM items');
  assert.deepEqual(rows[0], { lo: 1, hi: 1, n: 1000 });
  const calls = new Map<string, number>();
  for (const e of (await handle.fetchHistory()).events ?? []) {
    const type = e.activityTaskScheduledEventAttributes?.activityType?.name;
    if (type) calls.set(type, (calls.get(type) ?? 0) + 1);
  }
  assert.equal(calls.get('executeJob'), 10);
  assert.equal(calls.get('findJob'), 2);
});

test('a repository workflow running short jobs as local activities yields a workflow task every 2 s of their wall time, not of their work time', async () => {
  const db = await createTestDatabase('repoyield');
  const jobs = 600;
  await createItems(db.pool, 'items', jobs);
  const registry = new WorkRegistry([...BUILTIN_WORK]);
  await defineMigration(
    { pool: db.pool, registry },
    {
      name: 'short',
      repository: 'ryield',
      work: 'increment',
      table: 'items',
      column: 'id',
      batchSize: 1,
      targetJobMs: 0,
      args: { target: 'counter' },
    },
  );
  const worker = await startTestWorker(db, { registry });
  const handle = await worker.client.workflow.start(repositoryMigration, {
    taskQueue: worker.taskQueue,
    workflowId: repositoryWorkflowId('ryield'),
    args: [{ repository: 'ryield', knobs: { ...FAST, localActivities: true } }],
  });
  const summary = await handle.result();
  assert.equal(summary.state, 'finished');
  const { rows } = await db.pool.query('SELECT min(counter) AS lo, max(counter) AS hi, count(*)::int AS n FROM items');
  assert.deepEqual(rows[0], { lo: 1, hi: 1, n: jobs });
  // The yield is a 1 ms timer. A job counts at least its 5 ms allowance, so 600 jobs make at least one
  // yield however fast the machine is; counting the work's time alone (well under 1 ms here), they made none.
  const { work } = (await db.pool.query('SELECT sum(duration_ms)::float8 AS work FROM bbm.jobs')).rows[0] as { work: number };
  assert.ok(work < 2_000, `the jobs' work took ${work} ms in all: below one yield's worth`);
  const yields = ((await handle.fetchHistory()).events ?? []).filter((e) => {
    const timeout = e.timerStartedEventAttributes?.startToFireTimeout;
    return timeout && Number(timeout.seconds ?? 0) === 0 && Number(timeout.nanos ?? 0) === 1_000_000;
  }).length;
  assert.ok(yields >= Math.floor((jobs * 5) / 2_000), `${yields} yields for ${jobs} jobs`);
});

test("a job's log lines carry the job's fields at level info, for every job the workflow ran", async () => {
  const db = await createTestDatabase('repolog');
  await createItems(db.pool, 'items', 300);
  const registry = new WorkRegistry([...BUILTIN_WORK]);
  await defineMigration(
    { pool: db.pool, registry },
    {
      name: 'logged',
      repository: 'repolog',
      work: 'increment',
      table: 'items',
      column: 'id',
      targetJobMs: 0,
      batchSize: 100,
      args: { target: 'counter' },
    },
  );
  const worker = await startLoggingWorker(db, { registry });
  const handle = await worker.client.workflow.start(repositoryMigration, {
    taskQueue: worker.taskQueue,
    workflowId: repositoryWorkflowId('repolog'),
    args: [{ repository: 'repolog', knobs: FAST }],
  });
  assert.equal((await handle.result()).state, 'finished');
  const jobs = await db.pool.query<{ id: string; min_value: string; max_value: string }>(
    'SELECT id, min_value, max_value FROM bbm.jobs ORDER BY id',
  );
  assert.equal(jobs.rows.length, 3);
  for (const job of jobs.rows) {
    const lines = worker.lines.filter((l) => l.job_id === job.id);
    assert.deepEqual(
      lines.map((l) => l.msg),
      ['found job, starting execution', 'job completed'],
      `job ${job.id}'s lines`,
    );
    for (const line of lines) {
      assert.equal(line.workflow_id, repositoryWorkflowId('repolog'));
      assert.equal(line.activity, 'executeJob');
      assert.equal(line.bbm_name, 'logged');
      assert.equal(line.job_start_id, job.min_value);
      assert.equal(line.job_end_id, job.max_value);
      assert.match(String(line.correlation_id), new RegExp(`:${job.id}:1$`));
    }
    assert.equal(lines[1]!.rows, '100');
  }
});

test('a short repository run on local activities is one workflow task: its progress reads and its notice to the enqueuer are local activities too, and on regular activities each is an activity task', async () => {
  const db = await createTestDatabase('bookends');
  await createItems(db.pool, 'items', 100);
  const registry = new WorkRegistry([...BUILTIN_WORK]);
  const worker = await startTestWorker(db, { registry });
  for (const localActivities of [true, false]) {
    const key = localActivities ? 'bookends-local' : 'bookends-regular';
    await defineMigration(
      { pool: db.pool, registry },
      { name: key, repository: key, work: 'noop', table: 'items', column: 'id', batchSize: 1_000, targetJobMs: 0 },
    );
    const handle = await worker.client.workflow.start(repositoryMigration, {
      taskQueue: worker.taskQueue,
      workflowId: repositoryWorkflowId(key),
      args: [{ repository: key, knobs: { ...FAST, localActivities } }],
    });
    assert.equal((await handle.result()).state, 'finished');
    const events = (await handle.fetchHistory()).events ?? [];
    const scheduled = events.flatMap((e) => e.activityTaskScheduledEventAttributes?.activityType?.name ?? []);
    const local = events.flatMap((e) => {
      const marker = e.markerRecordedEventAttributes;
      if (marker?.markerName !== 'core_local_activity') return [];
      const data = marker.details?.data?.payloads?.[0]?.data;
      return [(JSON.parse(Buffer.from(data ?? new Uint8Array()).toString('utf8')) as { activity_type: string }).activity_type];
    });
    const tasks = events.filter((e) => e.workflowTaskCompletedEventAttributes).length;
    if (localActivities) {
      assert.deepEqual(scheduled, [], `${key}: no activity task`);
      assert.equal(local.filter((t) => t === 'repositoryProgress').length, 2, `${key}: the first and final reads`);
      assert.equal(local.filter((t) => t === 'notifyEnqueuer').length, 1, `${key}: the notice`);
      assert.equal(tasks, 1, `${key}: workflow tasks`);
    } else {
      assert.deepEqual(
        scheduled.filter((t) => t === 'repositoryProgress' || t === 'notifyEnqueuer'),
        ['repositoryProgress', 'repositoryProgress', 'notifyEnqueuer'],
        `${key}: the bookends as activity tasks`,
      );
      assert.deepEqual(local, [], `${key}: no local activity`);
    }
  }
});
