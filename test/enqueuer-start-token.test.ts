import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { STARTED_BY_MEMO_KEY, enqueuerStartToken, repositoryWorkflowId } from '../src/contract/ids';
import { startRepositories } from '../src/enqueuer/start';
import { terminateRepositories } from './helpers/enqueuer';
import { testClient, uniqueTaskQueue } from './helpers/temporal';

// No worker polls this task queue: the started workflows stay running, which is the state a retried
// start finds its own earlier starts in (in the same worker, or on the next one after a crash).
test('a retried wake-up counts the repositories it had started as started, and any other starter finds them already running', async () => {
  const client = await testClient();
  const taskQueue = uniqueTaskQueue('start-token');
  const suffix = randomBytes(4).toString('hex');
  const a = `start-token-a-${suffix}`;
  const b = `start-token-b-${suffix}`;
  const c = `start-token-c-${suffix}`;
  const token = enqueuerStartToken('run-1', 7);
  try {
    const first = await startRepositories(client, { taskQueue, repositories: [a, b], reason: 'test', startToken: token });
    assert.deepEqual(first, { started: [a, b], alreadyRunning: [] });
    const described = await client.workflow.getHandle(repositoryWorkflowId(a)).describe();
    assert.equal(described.memo?.[STARTED_BY_MEMO_KEY], token, 'the start token is in the memo');
    const runIdOf = async (r: string): Promise<string> => (await client.workflow.getHandle(repositoryWorkflowId(r)).describe()).runId;
    const firstRuns = [await runIdOf(a), await runIdOf(b)];

    // The same wake-up again (its local activity re-ran after a crash), with one repository more.
    const retried = await startRepositories(client, { taskQueue, repositories: [a, b, c], reason: 'test', startToken: token });
    assert.deepEqual(retried, { started: [a, b, c], alreadyRunning: [] });

    // Another wake-up, and a start with no token, do not claim runs that are not theirs.
    const other = await startRepositories(client, {
      taskQueue,
      repositories: [a, b, c],
      reason: 'test',
      startToken: enqueuerStartToken('run-1', 8),
    });
    assert.deepEqual(other, { started: [], alreadyRunning: [a, b, c] });
    const untokened = await startRepositories(client, { taskQueue, repositories: [c], reason: 'test' });
    assert.deepEqual(untokened, { started: [], alreadyRunning: [c] });

    // The runs the retry counted are the first call's, still running.
    assert.deepEqual([await runIdOf(a), await runIdOf(b)], firstRuns);
  } finally {
    await terminateRepositories(client, [a, b, c]);
  }
});
