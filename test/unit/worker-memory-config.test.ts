import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resolveConfig } from '../../src/config';
import { BbmError, ErrorCode } from '../../src/errors';
import { forEachLimited } from '../../src/enqueuer/limited';

const cacheOf = (env: Record<string, string>) => resolveConfig({ TEMPORAL_ADDRESS: 'localhost:7233', ...env }).workflowCache;

test('the workflow cache, its task slots and the workflow heap have documented defaults', () => {
  assert.deepEqual(cacheOf({}), { maxCachedWorkflows: 250, maxConcurrentWorkflowTasks: 40, workflowHeapMB: 314, workflowThreads: 1 });
});

test('the environment overrides them, and the heap default follows the cache size', () => {
  assert.deepEqual(cacheOf({ BBM_MAX_CACHED_WORKFLOWS: '100' }), {
    maxCachedWorkflows: 100,
    maxConcurrentWorkflowTasks: 40,
    workflowHeapMB: 164,
    workflowThreads: 1,
  });
  assert.deepEqual(
    cacheOf({
      BBM_MAX_CACHED_WORKFLOWS: '20',
      BBM_MAX_CONCURRENT_WORKFLOW_TASKS: '10',
      BBM_WORKFLOW_HEAP_MB: '0',
      BBM_WORKFLOW_THREADS: '2',
    }),
    { maxCachedWorkflows: 20, maxConcurrentWorkflowTasks: 10, workflowHeapMB: 0, workflowThreads: 2 },
  );
  // A cache smaller than the default task slots lowers the slots with it (the SDK refuses more slots than cached workflows).
  assert.equal(cacheOf({ BBM_MAX_CACHED_WORKFLOWS: '8' }).maxConcurrentWorkflowTasks, 8);
});

test('unusable values stop start-up with CONFIG_INVALID naming the variable', () => {
  for (const [env, setting] of [
    [{ BBM_MAX_CACHED_WORKFLOWS: '1' }, 'BBM_MAX_CACHED_WORKFLOWS'],
    [{ BBM_MAX_CACHED_WORKFLOWS: 'lots' }, 'BBM_MAX_CACHED_WORKFLOWS'],
    [{ BBM_MAX_CACHED_WORKFLOWS: '10', BBM_MAX_CONCURRENT_WORKFLOW_TASKS: '11' }, 'BBM_MAX_CONCURRENT_WORKFLOW_TASKS'],
    [{ BBM_MAX_CONCURRENT_WORKFLOW_TASKS: '1' }, 'BBM_MAX_CONCURRENT_WORKFLOW_TASKS'],
    [{ BBM_WORKFLOW_HEAP_MB: '32' }, 'BBM_WORKFLOW_HEAP_MB'],
    [{ BBM_WORKFLOW_THREADS: '0' }, 'BBM_WORKFLOW_THREADS'],
  ] as const) {
    assert.throws(
      () => cacheOf(env),
      (err: unknown) => err instanceof BbmError && err.code === ErrorCode.CONFIG_INVALID && err.message.includes(setting),
      JSON.stringify(env),
    );
  }
});

test('forEachLimited keeps at most the limit in flight, visits every item once, and stops starting after an error', async () => {
  let inFlight = 0;
  let peak = 0;
  const seen: number[] = [];
  const items = Array.from({ length: 50 }, (_, i) => i);
  await forEachLimited(items, 7, async (i) => {
    inFlight += 1;
    peak = Math.max(peak, inFlight);
    await new Promise((r) => setImmediate(r));
    seen.push(i);
    inFlight -= 1;
  });
  assert.equal(peak, 7);
  assert.deepEqual(
    [...seen].sort((a, b) => a - b),
    items,
  );

  const started: number[] = [];
  await assert.rejects(
    forEachLimited(items, 3, async (i) => {
      started.push(i);
      await new Promise((r) => setImmediate(r));
      if (i === 4) throw new Error('boom');
    }),
    /boom/,
  );
  assert.ok(started.length < items.length, `started ${started.length} of ${items.length} after an error`);
});
