import assert from 'node:assert/strict';
import { test } from 'node:test';
import { STARTED_BY_MEMO_KEY, enqueuerStartToken, enqueuerWorkflowId, repositoryWorkflowId } from '../src/contract/ids';
import { enqueuerStatus, wakeEnqueuer } from '../src/enqueuer/client';
import { createTestDatabase } from './helpers/db';
import { defineRepositories, terminateEnqueuer, terminateRepositories } from './helpers/enqueuer';
import { startTestWorker, testClient, uniqueTaskQueue } from './helpers/temporal';
import { waitFor } from './helpers/wait';
import { gatedWork, registryWith } from './helpers/work';
import { spawnWorker } from './helpers/worker-process';

// Found by a fresh reviewer: survey and start are local activities of one workflow task, so a
// worker that dies after the starts but before that task completes loses both results. The next
// worker runs the survey again, which finds the runs just started already running.
test('a wake-up whose worker died right after its starts counts them as started on the next worker, and starts none twice', async () => {
  const db = await createTestDatabase('enq_crash_recount');
  const gate = gatedWork('held');
  const keys = await defineRepositories(db, 3, { registry: registryWith(gate.work), work: 'held' });
  const taskQueue = uniqueTaskQueue('enq-crash-recount');
  const client = await testClient();
  try {
    const doomed = await spawnWorker({
      databaseUrl: db.url,
      taskQueue,
      env: { BBM_TEST_HOLD_WORK: 'held', BBM_TEST_KILL_AFTER_ACTIVITY: 'startRepositories' },
    });
    await wakeEnqueuer(client, taskQueue, { reason: 'crash-recount' }, { capacity: 3 });
    const exit = await doomed.exited;
    assert.equal(exit.signal, 'SIGKILL', `the worker killed itself after the starts: ${doomed.output()}`);
    const enqueuerRun = (await client.workflow.getHandle(enqueuerWorkflowId(taskQueue)).describe()).runId;
    const runsBefore = new Map<string, string>();
    for (const key of keys) {
      const run = await client.workflow.getHandle(repositoryWorkflowId(key)).describe();
      assert.equal(run.status.name, 'RUNNING');
      assert.equal(run.memo?.[STARTED_BY_MEMO_KEY], enqueuerStartToken(enqueuerRun, 1), 'started by wake-up 1 of this run');
      runsBefore.set(key, run.runId);
    }

    await startTestWorker(db, { taskQueue, registry: registryWith(gate.work) });
    const status = await waitFor('the wake-up to complete on the new worker', async () => {
      const s = await enqueuerStatus(client, taskQueue);
      return s && s.wakeUps >= 1 && s.pending === 0 ? s : undefined;
    });
    assert.equal(status.wakeUps, 1);
    assert.deepEqual([...status.started].sort(), keys, 'the runs of the lost attempt count as started');
    assert.deepEqual(status.alreadyRunning, []);
    assert.equal(status.startedTotal, 3);
    assert.deepEqual([...status.running].sort(), keys);
    for (const key of keys) {
      const run = await client.workflow.getHandle(repositoryWorkflowId(key)).describe();
      assert.equal(run.runId, runsBefore.get(key), `${key} was not started again`);
    }
  } finally {
    gate.open();
    await terminateRepositories(client, keys);
    await terminateEnqueuer(client, taskQueue);
  }
});
