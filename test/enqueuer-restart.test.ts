import assert from 'node:assert/strict';
import { test } from 'node:test';
import { enqueuerStatus, wakeEnqueuer } from '../src/enqueuer/client';
import { testClient, uniqueTaskQueue } from './helpers/temporal';
import { spawnWorker } from './helpers/worker-process';
import { FAST, closedExecutions, defineRepositories, maxConcurrency, terminateEnqueuer, waitForMigrations } from './helpers/enqueuer';
import { counters, createTestDatabase } from './helpers/db';
import { waitFor } from './helpers/wait';

test('killing the worker mid-run leaves nothing behind: a new worker carries on and every repository finishes within capacity', async () => {
  const db = await createTestDatabase('enq_kill');
  const keys = await defineRepositories(db, 40);
  const taskQueue = uniqueTaskQueue('enq-kill');
  const client = await testClient();

  const first = await spawnWorker({ databaseUrl: db.url, taskQueue });
  await wakeEnqueuer(client, taskQueue, { reason: 'kill-test', knobs: FAST }, { capacity: 4 });
  await waitFor(
    'a dozen repositories finished',
    async () => {
      const { rows } = await db.pool.query('SELECT count(*)::int AS n FROM bbm.migrations WHERE status = 2');
      return rows[0].n >= 12 ? true : undefined;
    },
    120_000,
    20,
  );
  // No goodbye: in-flight activities and workflow tasks are simply lost.
  await first.kill('SIGKILL');
  const { rows: atKill } = await db.pool.query('SELECT count(*)::int AS n FROM bbm.migrations WHERE status = 2');
  assert.ok(atKill[0].n < 40, 'killed mid-run');

  const t0 = Date.now();
  const second = await spawnWorker({ databaseUrl: db.url, taskQueue });
  let status;
  let executions;
  try {
    await waitForMigrations(db.pool, 240_000);
    // A repository whose regular activity (bookkeeping: 1 min, notify: 30 s start-to-close) was in
    // flight on the killed worker closes only after that timeout: allow for it.
    executions = await closedExecutions(client, taskQueue, 40, 150_000);
    status = await waitFor('the enqueuer to settle', async () => {
      const s = await enqueuerStatus(client, taskQueue);
      return s && s.pending === 0 ? s : undefined;
    });
  } finally {
    await second.stop();
  }
  const recoveryMs = Date.now() - t0;
  assert.deepEqual([...new Set(executions.map((e) => e.repository))].sort(), keys);
  assert.equal(executions.length, 40, 'one execution per repository: none started twice');
  assert.ok(maxConcurrency(executions) <= 4, `never more than 4 at once, saw ${maxConcurrency(executions)}`);
  assert.deepEqual(await counters(db.pool), { lo: 1, hi: 1, n: 120 });
  const { rows: leases } = await db.pool.query('SELECT count(*)::int AS n FROM bbm.leases WHERE expires_at > now()');
  const slowest = [...executions]
    .sort((a, b) => b.close - b.start - (a.close - a.start))
    .slice(0, 3)
    .map((e) => `${e.repository} ${e.close - e.start} ms`);
  console.log(
    `# killed after ${atKill[0].n}/40 finished; startedTotal ${status.startedTotal}; the new worker finished the rest in ${recoveryMs} ms; slowest: ${slowest.join(', ')}; live leases left: ${leases[0].n}`,
  );
  assert.equal(leases[0].n, 0, 'no lease left behind');
  // Exact only when the kill missed a wake-up: a run that a lost attempt started and that closed
  // before the retried survey is counted by nobody (README, "How the enqueuer decides"). The
  // executions above are the guarantee; this checks that no start is counted twice.
  assert.ok(status.startedTotal <= 40, `startedTotal ${status.startedTotal} counts no start twice`);
  await terminateEnqueuer(client, taskQueue);
});
