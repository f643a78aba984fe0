import assert from 'node:assert/strict';
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { repositoryWorkflowId } from '../../../src/contract/ids';
import { repositoryMigration } from '../../../workflows/repository';
import type { TestCluster } from './cluster';
import { establishedPeers } from './cluster';
import { clusterWorkload, startRepositories, taskIdentities } from './cluster-work';
import { assertExactlyOnce, waitFor, type ExactlyOnceReport } from './data';

export interface ClusterRunReport extends ExactlyOnceReport {
  /** Tasks each worker process started, by identity. */
  tasksPerWorker: number[];
  /** For each worker, how many of the cluster's frontends it held a connection to while running. */
  frontendsPerWorker: number[];
  /** Frontends a worker with DNS load balancing turned off connected to (undefined where workers see one frontend anyway). */
  controlFrontends: number | undefined;
}

/**
 * Several repositories on the cluster with two bbm worker processes on one task queue: all
 * finish, both workers run tasks, and (where workers see every frontend through one name) each
 * worker holds a connection to every frontend.
 */
export async function clusterRunDrill(
  tc: TestCluster,
  options: { label: string; repositories: number; rowsPerRepository: number },
): Promise<ClusterRunReport> {
  const work = await clusterWorkload(options.label, { ...options, batchSize: 500 });
  const workers = [await tc.spawnWorker(work.db.url, work.taskQueue), await tc.spawnWorker(work.db.url, work.taskQueue)];
  const handles = await startRepositories(await tc.client(2), work, { minDelayMs: 0, maxDelayMs: 50, maxJobPerBatch: 4 });
  const frontendPorts = new Set(tc.cluster.frontends);
  const frontendsPerWorker = workers.map(() => 0);
  // Core connects to each resolved address; sample while the run is busy.
  await waitFor(
    'each worker to connect to every frontend',
    async () => {
      workers.forEach(
        (w, i) =>
          (frontendsPerWorker[i] = Math.max(
            frontendsPerWorker[i] ?? 0,
            new Set(establishedPeers(w.pid).filter((p) => frontendPorts.has(p))).size,
          )),
      );
      return !tc.workersSeeEveryFrontend || frontendsPerWorker.every((n) => n === tc.cluster.frontends.length);
    },
    60_000,
    100,
  );
  const summaries = await Promise.all(handles.map((h) => h.result()));
  for (const s of summaries) assert.equal(s.state, 'finished');
  const report = await assertExactlyOnce(work.db.pool, 'items', work.names, work.rows);
  const identities = await taskIdentities(handles);
  const tasksPerWorker = workers.map((w) => identities.get(`worker-main-${w.pid}`) ?? 0);
  assert.ok(
    tasksPerWorker.every((n) => n > 0),
    `both workers should have run tasks; saw ${JSON.stringify([...identities])}`,
  );
  await Promise.all(workers.map((w) => w.stop()));
  let controlFrontends: number | undefined;
  if (tc.workersSeeEveryFrontend) {
    // The control: with DNS load balancing off, the same name gives a worker one frontend only.
    const control = await tc.spawnWorker(work.db.url, work.taskQueue, { BBM_TEMPORAL_DNS_REFRESH_S: '0' });
    await waitFor(
      'the control worker to connect',
      async () => (controlFrontends = new Set(establishedPeers(control.pid).filter((p) => frontendPorts.has(p))).size) >= 1,
      60_000,
      100,
    );
    await control.stop();
    assert.equal(controlFrontends, 1, 'without DNS load balancing a worker should reach a single frontend');
  }
  return { ...report, tasksPerWorker, frontendsPerWorker, controlFrontends };
}

export interface ClusterStartsReport extends ExactlyOnceReport {
  started: number;
  refused: number;
  /** Executions of the workflow ID each frontend's visibility lists. */
  executionsSeenBy: number[];
}

/**
 * `starts` concurrent starts of one repository workflow, spread round-robin over every
 * frontend: exactly one is admitted and the others get WorkflowExecutionAlreadyStartedError,
 * whichever node handled them; the migration then runs once.
 */
export async function clusterConcurrentStarts(
  tc: TestCluster,
  options: { label: string; starts: number; rows: number },
): Promise<ClusterStartsReport> {
  const work = await clusterWorkload(options.label, { repositories: 1, rowsPerRepository: options.rows, batchSize: 1000 });
  const clients: Client[] = [];
  for (let i = 1; i <= tc.cluster.nodes.length; i++) clients.push(await tc.client(i));
  const repository = work.repositories[0] as string;
  const workflowId = repositoryWorkflowId(repository);
  const start = (client: Client) =>
    client.workflow.start(repositoryMigration, {
      taskQueue: work.taskQueue,
      workflowId,
      args: [{ repository, knobs: { minDelayMs: 0, maxDelayMs: 0 } }],
    });
  // All starts race before any worker polls, so the first execution cannot finish in between.
  const settled = await Promise.allSettled(Array.from({ length: options.starts }, (_, i) => start(clients[i % clients.length] as Client)));
  const started = settled.filter((s) => s.status === 'fulfilled');
  const refused = settled.filter((s): s is PromiseRejectedResult => s.status === 'rejected');
  assert.equal(started.length, 1, 'exactly one start must be admitted');
  for (const r of refused) assert.ok(r.reason instanceof WorkflowExecutionAlreadyStartedError, `unexpected refusal: ${String(r.reason)}`);

  const worker = await tc.spawnWorker(work.db.url, work.taskQueue);
  const summary = await (started[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof start>>>).value.result();
  assert.equal(summary.state, 'finished');
  const report = await assertExactlyOnce(work.db.pool, 'items', work.names, work.rows);
  const executionsSeenBy: number[] = [];
  for (const client of clients) {
    let n = 0;
    await waitFor(
      'the execution to be visible',
      async () => {
        n = 0;
        for await (const _ of client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) n += 1;
        return n >= 1;
      },
      30_000,
      200,
    );
    executionsSeenBy.push(n);
  }
  assert.deepEqual(
    executionsSeenBy,
    clients.map(() => 1),
    'every frontend must list exactly one execution',
  );
  await worker.stop();
  return { ...report, started: started.length, refused: refused.length, executionsSeenBy };
}
