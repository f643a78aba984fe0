import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defineMigration } from '../src/engine/definitions';
import { repositoryWorkflowId } from '../src/contract/ids';
import { createItems, createTestDatabase } from './helpers/db';
import { startTestWorker } from './helpers/temporal';
import { temporal } from './helpers/temporal-cli';
import { waitFor } from './helpers/wait';
import { registryWith, slowIncrement } from './helpers/work';

test('the temporal CLI starts, queries, updates, signals and lists a repository workflow with the README commands', async () => {
  const db = await createTestDatabase('tcli');
  await createItems(db.pool, 'items', 400);
  const registry = registryWith(slowIncrement(50));
  await defineMigration(
    { pool: db.pool, registry },
    { name: 'cli_backfill', repository: 'cli/items', work: 'slow_increment', table: 'items', column: 'id', targetJobMs: 0, batchSize: 20 },
  );
  const worker = await startTestWorker(db, { registry });
  const workflowId = repositoryWorkflowId('cli/items');

  const started = await temporal(
    'workflow',
    'start',
    '--task-queue',
    worker.taskQueue,
    '--type',
    'repositoryMigration',
    '--workflow-id',
    workflowId,
    '--input',
    '{"repository":"cli/items","knobs":{"minDelayMs":1,"maxDelayMs":1}}',
  );
  assert.match(started, /Running execution/);

  const progress = await waitFor('a finished job visible to `temporal workflow query`', async () => {
    const out = JSON.parse(await temporal('workflow', 'query', '--workflow-id', workflowId, '--name', 'progress', '--output', 'json'));
    const value = out.queryResult?.[0] ?? out.result?.[0] ?? out;
    return value?.migrations?.[0]?.jobs?.finished >= 1 ? value : undefined;
  });
  assert.equal(progress.repository, 'cli/items');

  const updated = JSON.parse(
    await temporal(
      'workflow',
      'update',
      'execute',
      '--workflow-id',
      workflowId,
      '--name',
      'configure',
      '--input',
      '{"maxJobPerBatch":2}',
      '--output',
      'json',
    ),
  );
  assert.equal(JSON.stringify(updated).includes('"maxJobPerBatch":2'), true, JSON.stringify(updated));

  await temporal('workflow', 'signal', '--workflow-id', workflowId, '--name', 'pause', '--input', '{}');
  const result = JSON.parse(await temporal('workflow', 'result', '--workflow-id', workflowId, '--output', 'json'));
  assert.equal(JSON.stringify(result).includes('"state":"paused"'), true, JSON.stringify(result));

  const listed = await waitFor('the search attribute to be indexed', async () => {
    const out = await temporal('workflow', 'list', '--query', 'BbmRepository="cli/items" AND BbmStatus="paused"', '--output', 'json');
    return out.includes(workflowId) ? out : undefined;
  });
  assert.ok(listed.includes('repositoryMigration'));
  const other = await temporal('workflow', 'list', '--query', 'BbmRepository="no/such-repository"', '--output', 'json');
  assert.equal(other.includes(workflowId), false);
});

test('the temporal CLI gets a clear INVALID_INPUT failure for a workflow ID that does not match the repository', async () => {
  const db = await createTestDatabase('tcli_bad');
  const worker = await startTestWorker(db);
  await temporal(
    'workflow',
    'start',
    '--task-queue',
    worker.taskQueue,
    '--type',
    'repositoryMigration',
    '--workflow-id',
    'some-other-id',
    '--input',
    '{"repository":"x"}',
  );
  const out = await temporal('workflow', 'result', '--workflow-id', 'some-other-id', '--output', 'json').catch(
    (err: { stdout?: string; stderr?: string }) => `${err.stdout}${err.stderr}`,
  );
  assert.match(out, /INVALID_INPUT/);
  assert.match(out, /bbm-repository:x/);
});
