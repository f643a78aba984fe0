// The production topology, run for real: a 3-node Temporal cluster on PostgreSQL persistence and
// visibility (src/dev/temporal-cluster.ts), bbm worker processes that reach every frontend through
// one host name, node loss and a rolling restart. One cluster serves the file's cases in turn.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CLUSTER_SKIP, startTestCluster, type TestCluster } from './lib/cluster';
import { clusterConcurrentStarts, clusterRunDrill } from './lib/cluster-basics';
import { clusterNodeKillDrill, clusterRollingRestartDrill } from './lib/cluster-failures';
import { clusterVisibilityDrill } from './lib/cluster-visibility';

describe('a 3-node Temporal cluster on PostgreSQL', { skip: CLUSTER_SKIP && `skipped: ${CLUSTER_SKIP}` }, () => {
  let tc: TestCluster;
  before(async () => {
    const t0 = Date.now();
    tc = await startTestCluster('faults');
    console.log(
      `# cluster of ${tc.cluster.nodes.length} nodes up in ${((Date.now() - t0) / 1000).toFixed(1)} s; workers use ${tc.workerAddress}${tc.workersSeeEveryFrontend ? ' (every frontend)' : ' (node 1 only: no private /etc/hosts on this machine)'}`,
    );
  });
  after(() => tc?.stop());

  test('runs 6 repositories with 2 worker processes, each worker connected to every frontend, every row at exactly 1', async (t) => {
    const r = await clusterRunDrill(tc, { label: 'cl-run', repositories: 6, rowsPerRepository: 10_000 });
    assert.equal(r.rows, 60_000);
    t.diagnostic(
      `${r.rows} rows at 1 over ${r.jobs} jobs; tasks per worker ${r.tasksPerWorker.join(', ')}; frontends per worker ${r.frontendsPerWorker.join(', ')} (${r.controlFrontends ?? '-'} with DNS load balancing off)`,
    );
  });

  test('search attributes and list filters work on PostgreSQL visibility (Temporal CLI, bbm repositories list, web UI)', async (t) => {
    const r = await clusterVisibilityDrill(tc, { label: 'cl-vis' });
    t.diagnostic(`${Object.keys(r.queries).length} list queries matched; bbm listed ${r.listed.join(', ')} as completed`);
  });

  test('50 concurrent starts of one repository spread over every frontend give exactly one execution', async (t) => {
    const r = await clusterConcurrentStarts(tc, { label: 'cl-starts', starts: 50, rows: 20_000 });
    t.diagnostic(
      `${r.started} started, ${r.refused} refused; executions listed by each frontend: ${r.executionsSeenBy.join(', ')}; ${r.rows} rows at 1`,
    );
  });

  test('SIGKILL of node 1 mid-run: the migration finishes on the other nodes with the same worker processes', async (t) => {
    const r = await clusterNodeKillDrill(tc, { label: 'cl-kill', index: 1, repositories: 4, rowsPerRepository: 15_000 });
    t.diagnostic(
      `killed at ${r.killedAt}/${r.rows} rows; first commit ${r.firstCommitS.toFixed(2)} s after the kill, first job handed out after it committed at ${r.firstNewJobS.toFixed(2)} s, every repository resumed by ${r.allResumedS.toFixed(2)} s (${r.resumed.map((x) => `${x.activities} ${x.seconds.toFixed(1)} s`).join(', ')}); timeouts in the histories: ${JSON.stringify(r.timeouts)}; ${r.rows} rows at 1 over ${r.jobs} jobs`,
    );
  });

  test('a rolling restart of every node, one at a time, during a run loses and doubles nothing', async (t) => {
    const r = await clusterRollingRestartDrill(tc, { label: 'cl-roll', repositories: 3, rowsPerRepository: 20_000, batchSize: 200 });
    t.diagnostic(
      `nodes stopped at ${r.stoppedAt.join(', ')} rows, down ${r.downS.map((s) => s.toFixed(1)).join(', ')} s; ${r.rows} rows at 1 over ${r.jobs} jobs`,
    );
  });
});
