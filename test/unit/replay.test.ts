// Every recorded history (test/replay/fixtures, `npm run replay:record`) must replay against the
// current workflow code: a change that would break executions already running fails here.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bundleWorkflowCode, DefaultLogger, Worker, type ReplayResult } from '@temporalio/worker';
import { WORKFLOW_TYPES } from '../../src/contract/workflows';
import { workflowBundleOptions } from '../../src/workflow-bundle';
import { loadFixtures, REPLAY_NAME, REPLAY_TASK_QUEUE } from '../replay/fixtures';

test('every recorded workflow history replays against the current workflow code without a determinism error', async (t) => {
  const fixtures = loadFixtures();
  const types = new Set(fixtures.map((f) => f.history.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name));
  for (const type of [WORKFLOW_TYPES.repository, WORKFLOW_TYPES.enqueuer, WORKFLOW_TYPES.enqueuerTick])
    assert.ok(types.has(type), `no fixture of ${type}`);
  // Continue-as-new is covered: some run's history ends with it.
  assert.ok(fixtures.some((f) => f.history.events?.at(-1)?.workflowExecutionContinuedAsNewEventAttributes));

  // The enqueuer's fixtures need this process's first replay worker (see REPLAY_TASK_QUEUE).
  const replayWorkers = (Worker as unknown as { replayWorkerCount?: number }).replayWorkerCount;
  assert.equal(replayWorkers ?? 0, 0, `the fixtures must be replayed by the first replay worker (${REPLAY_TASK_QUEUE})`);
  const bundle = await bundleWorkflowCode({ ...workflowBundleOptions(), logger: new DefaultLogger('WARN') });
  const results: ReplayResult[] = [];
  const histories = fixtures.map((f) => ({ workflowId: f.replayId, history: f.history }));
  for await (const result of Worker.runReplayHistories({ workflowBundle: { code: bundle.code }, replayName: REPLAY_NAME }, histories))
    results.push(result);
  assert.equal(results.length, fixtures.length);
  for (const [i, result] of results.entries()) {
    t.diagnostic(`${fixtures[i]?.file}: ${fixtures[i]?.events} events, ${result.error ? `FAILED: ${result.error.message}` : 'replayed'}`);
  }
  for (const [i, result] of results.entries())
    assert.equal(result.error, undefined, `${fixtures[i]?.file} (${fixtures[i]?.what}): ${result.error?.message}`);
});
