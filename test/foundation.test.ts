import assert from 'node:assert/strict';
import { test } from 'node:test';
import { healthCheck } from '../workflows/health';
import { createTestDatabase } from './helpers/db';
import { startTestWorker } from './helpers/temporal';

test('a trivial workflow on the real dev server runs an activity that queries the real Postgres', async () => {
  const db = await createTestDatabase('foundation');
  const worker = await startTestWorker(db);
  const result = await worker.client.workflow.execute(healthCheck, {
    taskQueue: worker.taskQueue,
    workflowId: `health-${worker.taskQueue}`,
    args: [{}],
    workflowExecutionTimeout: '30 seconds',
  });
  assert.equal(result.database, db.name);
  assert.match(result.serverVersion, /^\d+(\.\d+)?/);
  assert.ok(result.schemaVersion >= 1, `schema version ${result.schemaVersion} should be at least 1`);
});
