import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BbmClient } from '../src/api/client';
import { enqueuerWorkflowId } from '../src/contract/ids';
import { listAuditEvents } from '../src/store/audit';
import { bbm, cliEnv, shown } from './helpers/cli';
import { createTestDatabase } from './helpers/db';
import { startTestWorker, testClient } from './helpers/temporal';
import { waitFor } from './helpers/wait';

/**
 * Every capacity event names the enqueuer's task queue, whether the client recorded it (it started
 * the enqueuer) or the running enqueuer did (the update): the CLI's events lacked it when the
 * enqueuer recorded them (a tester's finding). The CLI also says which of the two happened.
 */
test('capacity changes from the CLI and the API record the task queue, and the CLI says whether it started the enqueuer', async () => {
  const db = await createTestDatabase('capacity_audit');
  const worker = await startTestWorker(db);
  const env = cliEnv(db.url, worker.taskQueue);
  const api = new BbmClient({ databaseUrl: db.url, taskQueue: worker.taskQueue, actor: 'tester', logLevel: 'silent' });
  const capacityEvents = async () => (await listAuditEvents(db.pool)).filter((e) => e.action === 'capacity');
  try {
    const started = await bbm(['--actor', 'carol', 'capacity', 'set', '3'], env);
    assert.equal(started.code, 0, shown(started));
    assert.match(started.stdout, /No enqueuer was running on task queue .*: started one with capacity 3/, shown(started));

    const running = await bbm(['--json', '--actor', 'carol', 'capacity', 'set', '8'], env);
    assert.equal(running.code, 0, shown(running));
    assert.deepEqual(JSON.parse(running.stdout), { workflowId: enqueuerWorkflowId(worker.taskQueue), capacity: 8, startedEnqueuer: false });
    const text = await bbm(['capacity', 'set', '6'], env);
    assert.match(text.stdout, /the running enqueuer applies it now/, shown(text));
    assert.equal(await api.setCapacity(5), 5);

    const events = await waitFor('four capacity events', async () => {
      const all = await capacityEvents();
      return all.length >= 4 ? all : undefined;
    });
    assert.deepEqual(
      events.map((e) => [e.via, (e.after as { capacity: number }).capacity, (e.detail as { taskQueue?: string } | null)?.taskQueue]),
      [
        ['cli', 3, worker.taskQueue],
        ['cli', 8, worker.taskQueue],
        ['cli', 6, worker.taskQueue],
        ['api', 5, worker.taskQueue],
      ],
    );
  } finally {
    await api.close();
    await (
      await testClient()
    ).workflow
      .getHandle(enqueuerWorkflowId(worker.taskQueue))
      .terminate('test done')
      .catch(() => undefined);
  }
});
