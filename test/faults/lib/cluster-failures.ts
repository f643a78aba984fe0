import assert from 'node:assert/strict';
import type { TemporalNode } from '../../../src/dev/temporal-node';
import { configureUpdate } from '../../../src/contract/messages';
import type { TestCluster } from './cluster';
import { clusterWorkload, dbNow, firstCommitAfter, resumeTimes, startRepositories, waitMigrationsFinished } from './cluster-work';
import { assertExactlyOnce, rowsProcessed, waitFor, type ExactlyOnceReport } from './data';

export interface NodeKillReport extends ExactlyOnceReport {
  /** rows_processed when the node was killed. */
  killedAt: number;
  /** Seconds from the SIGKILL to the first job committed after it (any repository). */
  firstCommitS: number;
  /** Seconds from the SIGKILL to the first commit of a job handed out after it. */
  firstNewJobS: number;
  /** Seconds from the SIGKILL until every repository had committed a job again (shards moved). */
  allResumedS: number;
  /** Per repository: seconds from the SIGKILL to its first commit after it, and how its jobs ran. */
  resumed: { repository: string; activities: 'local' | 'regular'; seconds: number }[];
  /** Timeouts in the histories (kind -> count), where the lost node's in-flight tasks show up. */
  timeouts: Record<string, number>;
}

/**
 * SIGKILL node `index` of a running cluster in the middle of a multi-repository migration run by
 * two worker processes: the migration finishes on the remaining nodes, the workers never restart,
 * and every row is incremented exactly once. The node is started again afterwards.
 */
export async function clusterNodeKillDrill(
  tc: TestCluster,
  options: { label: string; index: number; repositories: number; rowsPerRepository: number },
): Promise<NodeKillReport> {
  const work = await clusterWorkload(options.label, { ...options, batchSize: 500 });
  const workers = [await tc.spawnWorker(work.db.url, work.taskQueue), await tc.spawnWorker(work.db.url, work.taskQueue)];
  // The test's own client talks to another node than the one it kills.
  const clientNode = options.index === tc.cluster.nodes.length ? 1 : tc.cluster.nodes.length;
  const handles = await startRepositories(await tc.client(clientNode), work, { minDelayMs: 20, maxDelayMs: 80, maxJobPerBatch: 2 });
  await waitFor('30% of the rows', async () => (await rowsProcessed(work.db.pool, work.names)) >= work.rows * 0.3, 180_000, 50);
  const victim = node(tc, options.index);
  const killedAtTime = await dbNow(work.db.pool);
  await victim.kill();
  const killedAt = await rowsProcessed(work.db.pool, work.names);
  assert.ok(killedAt < work.rows, 'the node was killed after the migration had finished');

  let firstNewJobS: number | undefined;
  await waitFor(
    'a job handed out after the kill to commit',
    async () => (firstNewJobS = await firstCommitAfter(work.db.pool, work.names, killedAtTime, true)) !== undefined,
    180_000,
    50,
  );
  await waitMigrationsFinished(work.db.pool, work.names);
  const firstCommitS = (await firstCommitAfter(work.db.pool, work.names, killedAtTime)) as number;
  const times = await resumeTimes(work.db.pool, work.names, killedAtTime);
  const allResumedS = Math.max(...times);
  // startRepositories runs even-numbered repositories with local activities.
  const resumed = work.repositories.map((repository, i) => ({
    repository,
    activities: i % 2 === 0 ? ('local' as const) : ('regular' as const),
    seconds: times[i] ?? NaN,
  }));
  for (const h of handles) assert.equal((await h.result()).state, 'finished');
  const report = await assertExactlyOnce(work.db.pool, 'items', work.names, work.rows);
  assert.ok(
    workers.every((w) => w.alive()),
    'a worker process died with the node',
  );
  const timeouts: Record<string, number> = {};
  for (const h of handles) {
    for (const e of (await h.fetchHistory()).events ?? []) {
      const kind = e.workflowTaskTimedOutEventAttributes
        ? `workflow task ${TIMEOUT_TYPES[Number(e.workflowTaskTimedOutEventAttributes.timeoutType)]}`
        : e.activityTaskTimedOutEventAttributes
          ? `activity ${TIMEOUT_TYPES[Number(e.activityTaskTimedOutEventAttributes.failure?.timeoutFailureInfo?.timeoutType)]}`
          : undefined;
      if (kind) timeouts[kind] = (timeouts[kind] ?? 0) + 1;
    }
  }
  await Promise.all(workers.map((w) => w.stop()));
  await victim.start();
  return { ...report, killedAt, firstCommitS, firstNewJobS: firstNewJobS as number, allResumedS, resumed, timeouts };
}

export interface RollingRestartReport extends ExactlyOnceReport {
  /** rows_processed when each node was stopped, in node order. */
  stoppedAt: number[];
  /** Seconds each node was down (stop, start, serving again). */
  downS: number[];
}

/**
 * A rolling restart during a run: every node in turn is stopped (SIGTERM), started again and
 * waited for, then the run must commit a job before the next node goes. Long pauses between
 * batches keep the run going through all the restarts; then the `configure` update drops them
 * and the migration finishes with every row at exactly 1.
 */
export async function clusterRollingRestartDrill(
  tc: TestCluster,
  options: { label: string; repositories: number; rowsPerRepository: number; batchSize: number },
): Promise<RollingRestartReport> {
  const work = await clusterWorkload(options.label, options);
  const workers = [await tc.spawnWorker(work.db.url, work.taskQueue), await tc.spawnWorker(work.db.url, work.taskQueue)];
  const handles = await startRepositories(await tc.client(1), work, { minDelayMs: 500, maxDelayMs: 600, maxJobPerBatch: 1 });
  await waitFor('10% of the rows', async () => (await rowsProcessed(work.db.pool, work.names)) >= work.rows * 0.1, 180_000, 50);
  const stoppedAt: number[] = [];
  const downS: number[] = [];
  for (const n of tc.cluster.nodes) {
    const rows = await rowsProcessed(work.db.pool, work.names);
    assert.ok(rows < work.rows, `the migration finished before node ${n.index} was restarted`);
    stoppedAt.push(rows);
    const t0 = Date.now();
    await n.stop();
    await n.start();
    downS.push((Date.now() - t0) / 1000);
    const back = await dbNow(work.db.pool);
    await waitFor(
      `a job committed after node ${n.index} came back`,
      async () => (await firstCommitAfter(work.db.pool, work.names, back)) !== undefined,
      180_000,
      50,
    );
  }
  // The client's connection to node 1 outlived that node's restart.
  for (const h of handles) await h.executeUpdate(configureUpdate, { args: [{ minDelayMs: 0, maxDelayMs: 0, maxJobPerBatch: 20 }] });
  await waitMigrationsFinished(work.db.pool, work.names);
  for (const h of handles) assert.equal((await h.result()).state, 'finished');
  const report = await assertExactlyOnce(work.db.pool, 'items', work.names, work.rows);
  assert.ok(
    workers.every((w) => w.alive()),
    'a worker process died during the rolling restart',
  );
  await Promise.all(workers.map((w) => w.stop()));
  return { ...report, stoppedAt, downS };
}

/** temporal.api.enums.v1.TimeoutType. */
const TIMEOUT_TYPES: Record<number, string> = { 1: 'start-to-close', 2: 'schedule-to-start', 3: 'schedule-to-close', 4: 'heartbeat' };

function node(tc: TestCluster, index: number): TemporalNode {
  const found = tc.cluster.nodes.find((n) => n.index === index);
  assert.ok(found, `no node ${index}`);
  return found;
}
