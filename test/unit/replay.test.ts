// Every recorded history (test/replay/fixtures, `npm run replay:record`) must replay against the
// current workflow code: a change that would break executions already running fails here.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bundleWorkflowCode, DefaultLogger, Worker, type ReplayResult } from '@temporalio/worker';
import { WORKFLOW_TYPES } from '../../src/contract/workflows';
import { workflowBundleOptions } from '../../src/workflow-bundle';
import { PATCHES } from '../../workflows/patches';
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

/**
 * Patches the recorder (`npm run replay:record`) cannot reach, each with the reason: their new
 * branch is replay-tested only through histories from production or a hand-made fixture.
 */
const NOT_RECORDED: Readonly<Record<string, string>> = {
  [PATCHES.finalReadDecides]: 'needs a migration made runnable between the last job and the final read',
  [PATCHES.localYield]: "needs 2 s of local-activity jobs in one workflow task; the recorder's rounds end sooner",
  [PATCHES.findAgainWhenDatabaseLost]: "needs a job's retries to run out on a lost database",
};

test('the recorded histories take the new branch of every workflow patch the recorder can reach', () => {
  const recorded = new Set<string>();
  for (const { history } of loadFixtures())
    for (const event of history.events ?? []) {
      const marker = event.markerRecordedEventAttributes;
      if (marker?.markerName !== 'core_patch') continue;
      for (const payload of marker.details?.['patch-data']?.payloads ?? [])
        recorded.add((JSON.parse(Buffer.from(payload.data ?? new Uint8Array()).toString('utf8')) as { id: string }).id);
    }
  const missing = Object.values(PATCHES).filter((id) => !recorded.has(id) && !(id in NOT_RECORDED));
  assert.deepEqual(missing, [], 'a patch no fixture records: run `npm run replay:record` (README, "Changing workflow code safely")');
  for (const id of Object.keys(NOT_RECORDED)) assert.ok(Object.values<string>(PATCHES).includes(id), `${id} is not a patch any more`);
});
