import assert from 'node:assert/strict';
import { test } from 'node:test';
import { enqueuerStatus, wakeEnqueuer } from '../src/enqueuer/client';
import { runningRepositoriesQuery } from '../src/enqueuer/running';
import {
  FAST,
  closedExecutions,
  defineRepositories,
  maxConcurrency,
  utilisation,
  withCleanup,
  waitForMigrations,
} from './helpers/enqueuer';
import { counters, createTestDatabase } from './helpers/db';
import { testEnv } from './helpers/env';
import { startTestWorker } from './helpers/temporal';

const REPOSITORIES = testEnv.enqueuerRepositories;
const CAPACITY = 5;

test(`${REPOSITORIES} repositories with capacity ${CAPACITY} all finish, never more than ${CAPACITY} at once, and at ${CAPACITY} while work remains`, async () => {
  const db = await createTestDatabase('enq_load');
  const t0 = Date.now();
  const keys = await defineRepositories(db, REPOSITORIES);
  const defineMs = Date.now() - t0;
  const worker = await startTestWorker(db);
  const { client, taskQueue } = worker;

  await withCleanup(worker, async () => {
    const t1 = Date.now();
    await wakeEnqueuer(client, taskQueue, { reason: 'load-test', knobs: FAST }, { capacity: CAPACITY });
    // Sampled while it runs: the enqueuer's own count (exact for what it started) and visibility's
    // (eventually consistent: a workflow that just closed may still be listed as running).
    let samples = 0;
    let maxReported = 0;
    let maxVisible = 0;
    const belowWhileWorkRemained: number[] = [];
    const sample = async (): Promise<void> => {
      const { rows } = await db.pool.query('SELECT count(*)::int AS n FROM bbm.migrations WHERE status IN (1, 4)');
      const [status, visible] = await Promise.all([
        enqueuerStatus(client, taskQueue),
        client.workflow.count(runningRepositoriesQuery(taskQueue)),
      ]);
      samples += 1;
      maxReported = Math.max(maxReported, status?.running.length ?? 0);
      maxVisible = Math.max(maxVisible, visible.count);
      // With plenty left, every wake-up must end with all slots taken.
      if (status && status.wakeUps > 0 && rows[0].n >= 2 * CAPACITY && status.running.length !== CAPACITY)
        belowWhileWorkRemained.push(status.running.length);
    };
    await waitForMigrations(db.pool, 600_000, sample);
    const runMs = Date.now() - t1;

    // Exact concurrency from the start and close times Temporal recorded for every execution.
    const executions = await closedExecutions(client, taskQueue, REPOSITORIES);
    assert.equal(executions.length, REPOSITORIES, 'one execution per repository');
    assert.deepEqual([...new Set(executions.map((e) => e.repository))].sort(), keys);
    assert.ok(executions.every((e) => e.status === 'COMPLETED'));
    assert.deepEqual(await counters(db.pool), { lo: 1, hi: 1, n: REPOSITORIES * 3 }, 'every row migrated exactly once');

    const peak = maxConcurrency(executions);
    const use = utilisation(executions, CAPACITY);
    const status = await enqueuerStatus(client, taskQueue);
    console.log(
      `# ${REPOSITORIES} repositories: defined in ${defineMs} ms, ran in ${runMs} ms (${((REPOSITORIES * 1000) / runMs).toFixed(1)}/s); peak ${peak} at once; ` +
        `mean ${use.mean.toFixed(2)} running, full house ${(use.fullShare * 100).toFixed(0)}% of ${use.windowMs} ms, slot refill median ${use.refillMedianMs} ms p90 ${use.refillP90Ms} ms, longest stretch below capacity ${use.longestGapMs} ms; ` +
        `${samples} samples: enqueuer max ${maxReported}, visibility max ${maxVisible}; ${status?.wakeUps} wake-ups in ${status?.runs} runs`,
    );
    assert.equal(peak, CAPACITY, `exactly ${CAPACITY} at the peak`);
    assert.ok(maxReported <= CAPACITY, `the enqueuer never counted more than ${CAPACITY} running (${maxReported})`);
    // Visibility may list a just-closed workflow as running for a moment: at most one extra.
    assert.ok(maxVisible <= CAPACITY + 1, `visibility never listed more than ${CAPACITY + 1} running (${maxVisible})`);
    // A freed slot is refilled by the done notice's wake-up: no stretch below capacity lasts long,
    // and most of the time all slots are busy (tolerant: 2 shared cores).
    assert.ok(use.longestGapMs < 5_000, `longest stretch below capacity ${use.longestGapMs} ms`);
    assert.ok(use.mean > 0.6 * CAPACITY, `on average ${use.mean.toFixed(2)} running`);
    assert.deepEqual(belowWhileWorkRemained, [], 'the enqueuer reported all slots taken in every sample while work remained');
    assert.equal(status?.startedTotal, REPOSITORIES);
  });
});
