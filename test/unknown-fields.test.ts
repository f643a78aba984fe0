import assert from 'node:assert/strict';
import { test } from 'node:test';
import { enqueuerWorkflowId, repositoryWorkflowId } from '../src/contract/ids';
import { enqueuerStatusQuery, progressQuery } from '../src/contract/messages';
import { WORKFLOW_TYPES, type RepositoryWorkflow } from '../src/contract/workflows';
import { defineMigration } from '../src/engine/definitions';
import { createItems, createTestDatabase } from './helpers/db';
import { startTestWorker } from './helpers/temporal';
import { temporal, temporalFails } from './helpers/temporal-cli';
import { waitFor } from './helpers/wait';
import { registryWith } from './helpers/work';

// Issue 10 item 5: unknown fields in a JSON entry point used to be dropped silently. Each test
// sends one through the Temporal CLI, as an operator would, against the real servers.

test('a repositoryMigration started by the Temporal CLI with an unknown batchSize fails at once with INVALID_INPUT, runs no activity and migrates nothing', async () => {
  const db = await createTestDatabase('uf_start');
  await createItems(db.pool, 'items', 50);
  const registry = registryWith();
  await defineMigration(
    { pool: db.pool, registry },
    {
      name: 'uf_m',
      repository: 'uf/items',
      work: 'increment',
      table: 'items',
      column: 'id',
      targetJobMs: 0,
      batchSize: 10,
      args: { target: 'counter' },
    },
  );
  const worker = await startTestWorker(db, { registry });
  const workflowId = repositoryWorkflowId('uf/items');

  await temporal(
    'workflow',
    'start',
    '--task-queue',
    worker.taskQueue,
    '--type',
    'repositoryMigration',
    '--workflow-id',
    workflowId,
    '--input',
    '{"repository":"uf/items","batchSize":-5}',
  );
  const out = await temporalFails('workflow', 'result', '--workflow-id', workflowId, '--output', 'json');
  assert.match(out, /INVALID_INPUT/);
  assert.match(out, /unknown repositoryMigration input field \\"batchSize\\"; accepted: repository, knobs, retryFailed, carried/);

  const history = await worker.client.workflow.getHandle(workflowId).fetchHistory();
  const events = history.events ?? [];
  const failed = events.find((e) => e.workflowExecutionFailedEventAttributes)?.workflowExecutionFailedEventAttributes;
  assert.equal(failed?.failure?.applicationFailureInfo?.type, 'INVALID_INPUT');
  assert.equal(failed?.failure?.applicationFailureInfo?.nonRetryable, true);
  assert.equal(
    events.filter((e) => e.activityTaskScheduledEventAttributes || e.markerRecordedEventAttributes).length,
    0,
    'an activity ran',
  );

  const { rows } = await db.pool.query(
    "SELECT (SELECT sum(counter) FROM items) AS touched, (SELECT count(*) FROM bbm.jobs) AS jobs, (SELECT status FROM bbm.migrations WHERE name = 'uf_m') AS status",
  );
  assert.deepEqual(rows[0], { touched: '0', jobs: '0', status: 1 });
});

test('through the Temporal CLI, a signal with an unknown field is ignored and counted, a configure update with one is refused, and a query with arguments fails', async () => {
  const db = await createTestDatabase('uf_messages');
  await createItems(db.pool, 'items', 20);
  const registry = registryWith();
  await defineMigration(
    { pool: db.pool, registry },
    { name: 'uf_held', repository: 'uf/held', work: 'increment', table: 'items', column: 'id', args: { target: 'counter' } },
  );
  // Someone else holds the lease: the workflow keeps waiting for it, and nothing else changes.
  await db.pool.query(
    "INSERT INTO bbm.leases (repository, holder, token, expires_at) VALUES ('uf/held', 'someone-else', 1, now() + interval '1 hour')",
  );
  const worker = await startTestWorker(db, { registry });
  const workflowId = repositoryWorkflowId('uf/held');
  const handle = await worker.client.workflow.start<RepositoryWorkflow>(WORKFLOW_TYPES.repository, {
    taskQueue: worker.taskQueue,
    workflowId,
    args: [{ repository: 'uf/held', knobs: { lockWaitTimeoutMs: 300 } }],
  });
  try {
    await waitFor('the workflow to wait for its lease', async () => (await handle.query(progressQuery)).state === 'waiting_for_lease');

    await temporal('workflow', 'signal', '--workflow-id', workflowId, '--name', 'pause', '--input', '{"migraton":"uf_held"}');
    const progress = await waitFor('the ignored signal to be counted', async () => {
      const p = await handle.query(progressQuery);
      return p.totals.ignoredSignals ? p : undefined;
    });
    assert.equal(progress.totals.ignoredSignals?.count, 1);
    assert.match(progress.totals.ignoredSignals?.last ?? '', /unknown field "migraton"; accepted: migration/);
    assert.equal(progress.state, 'waiting_for_lease', 'the malformed pause must not pause anything');

    const refused = await temporalFails(
      'workflow',
      'update',
      'execute',
      '--workflow-id',
      workflowId,
      '--name',
      'configure',
      '--input',
      '{"maxJobPerBatch":2,"batchSzie":5}',
    );
    // The CLI prints the failure's message JSON-escaped, with its type.
    assert.match(
      refused,
      /unknown configure field \\"batchSzie\\"; accepted: maxJobPerBatch, .*batchSize, .*migration, actor, via \(type: INVALID_INPUT/,
    );
    assert.equal((await handle.query(progressQuery)).knobs.maxJobPerBatch, 5, 'a refused update changes no knob');

    const query = await temporalFails(
      'workflow',
      'query',
      '--workflow-id',
      workflowId,
      '--name',
      'progress',
      '--input',
      '{"verbose":true}',
    );
    assert.match(query, /The progress query takes no arguments/);

    const { rows } = await db.pool.query("SELECT status, batch_size FROM bbm.migrations WHERE name = 'uf_held'");
    assert.deepEqual(rows[0], { status: 1, batch_size: 1000 });
  } finally {
    await handle.terminate('test done');
  }
});

test('through the Temporal CLI, a wake payload with an unknown field is ignored and counted, and enqueuer and tick inputs with one fail at once', async () => {
  const db = await createTestDatabase('uf_wake');
  const worker = await startTestWorker(db);
  const workflowId = enqueuerWorkflowId(worker.taskQueue);
  const start = ['--task-queue', worker.taskQueue, '--workflow-id', workflowId, '--type', 'enqueuer'];

  await temporal(
    'workflow',
    'signal-with-start',
    ...start,
    '--signal-name',
    'wake',
    '--signal-input',
    '{"reason":"ops","prefix":"uf/"}',
    '--input',
    '{}',
  );
  const handle = worker.client.workflow.getHandle(workflowId);
  const status = await waitFor('the ignored wake to be counted', async () => {
    const s = await handle.query(enqueuerStatusQuery);
    return s.ignoredSignals && s.wakeUps >= 1 ? s : undefined;
  });
  assert.equal(status.ignoredSignals?.count, 1);
  assert.match(status.ignoredSignals?.last ?? '', /unknown wake request field "prefix"; accepted: reason, repositoryPrefix, knobs/);
  assert.ok(!status.reason?.includes('ops'), `the ignored wake was processed: ${status.reason}`);
  await handle.terminate('test done');

  await temporal('workflow', 'start', ...start, '--input', '{"capacty":3}');
  assert.match(
    await temporalFails('workflow', 'result', '--workflow-id', workflowId),
    /unknown enqueuer input field "capacty"; accepted: capacity/,
  );

  const tickId = `uf-tick-${worker.taskQueue}`;
  await temporal(
    'workflow',
    'start',
    '--task-queue',
    worker.taskQueue,
    '--workflow-id',
    tickId,
    '--type',
    'enqueuerTick',
    '--input',
    '{"when":"now"}',
  );
  assert.match(
    await temporalFails('workflow', 'result', '--workflow-id', tickId),
    /unknown enqueuerTick input field "when"; accepted: reason/,
  );
});
