import assert from 'node:assert/strict';
import { test } from 'node:test';
import { enqueuerStatus, wakeEnqueuer } from '../src/enqueuer/client';
import { START_CONCURRENCY } from '../src/enqueuer/start';
import { FAST, closedExecutions, defineRepositories, maxConcurrency, waitForMigrations, withCleanup } from './helpers/enqueuer';
import { counters, createTestDatabase } from './helpers/db';
import { startTestWorker } from './helpers/temporal';

// More free slots than starts in flight, so one wake-up's starts overlap and queue behind each other.
const CAPACITY = START_CONCURRENCY + 8;
const REPOSITORIES = 3 * CAPACITY;

test(`overlapping starts (${START_CONCURRENCY} in flight, capacity ${CAPACITY}) never run more than the capacity at once and never start a repository twice`, async () => {
  const db = await createTestDatabase('enq_overlap');
  const keys = await defineRepositories(db, REPOSITORIES);
  const worker = await startTestWorker(db);
  const { client, taskQueue } = worker;

  await withCleanup(worker, async () => {
    // Concurrent triggers: they coalesce into the enqueuer's wake-ups, each of which starts its free slots at once.
    await Promise.all(
      ['overlap-a', 'overlap-b', 'overlap-c'].map((reason) =>
        wakeEnqueuer(client, taskQueue, { reason, knobs: FAST }, { capacity: CAPACITY }),
      ),
    );
    await waitForMigrations(db.pool, 600_000);

    // Exact, from the start and close times Temporal recorded for every execution.
    const executions = await closedExecutions(client, taskQueue, REPOSITORIES);
    const runsPerRepository = new Map<string, number>();
    for (const e of executions) runsPerRepository.set(e.repository, (runsPerRepository.get(e.repository) ?? 0) + 1);
    assert.deepEqual([...runsPerRepository.keys()].sort(), keys, 'every repository was started');
    assert.deepEqual(
      [...runsPerRepository].filter(([, runs]) => runs !== 1),
      [],
      'no repository was started twice',
    );
    const peak = maxConcurrency(executions);
    assert.ok(peak <= CAPACITY, `at most ${CAPACITY} ran at once (peak ${peak})`);
    assert.ok(peak > START_CONCURRENCY / 2, `starts overlapped (peak ${peak})`);
    assert.deepEqual(await counters(db.pool), { lo: 1, hi: 1, n: REPOSITORIES * 3 }, 'every row migrated exactly once');
    assert.equal((await enqueuerStatus(client, taskQueue))?.startedTotal, REPOSITORIES);
  });
});
