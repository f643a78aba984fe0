import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { repositoryWorkflowId } from '../../../src/contract/ids';
import { bbm, cliEnv, shown } from '../../helpers/cli';
import type { TestCluster } from './cluster';
import { clusterWorkload, startRepositories } from './cluster-work';
import { assertExactlyOnce, waitFor } from './data';

const run = promisify(execFile);

export interface VisibilityReport {
  /** Query -> workflow IDs it returned. */
  queries: Record<string, string[]>;
  /** Repositories `bbm repositories list --json` showed with workflow status COMPLETED. */
  listed: string[];
}

/**
 * bbm's search attributes on PostgreSQL visibility: after two repositories finish, the Temporal
 * CLI's list filters (each attribute, AND, IN, ExecutionStatus) return exactly the right
 * workflows through another frontend than the one that started them, `bbm repositories list`
 * shows both completed through a third, and the web UI's API filters the same way.
 */
export async function clusterVisibilityDrill(tc: TestCluster, options: { label: string }): Promise<VisibilityReport> {
  const work = await clusterWorkload(options.label, { repositories: 2, rowsPerRepository: 3_000, batchSize: 1_000 });
  const worker = await tc.spawnWorker(work.db.url, work.taskQueue);
  const handles = await startRepositories(await tc.client(1), work, { minDelayMs: 1, maxDelayMs: 5 });
  for (const h of handles) assert.equal((await h.result()).state, 'finished');
  await worker.stop();
  await assertExactlyOnce(work.db.pool, 'items', work.names, work.rows);
  const [a, b] = work.repositories as [string, string];
  const [idA, idB] = [repositoryWorkflowId(a), repositoryWorkflowId(b)];

  const binary = process.env.BBM_TEST_TEMPORAL_CLI;
  assert.ok(binary, 'BBM_TEST_TEMPORAL_CLI is set by test/run.ts');
  const list = async (query: string): Promise<string[]> => {
    const { stdout } = await run(
      binary,
      ['workflow', 'list', '--address', tc.cluster.frontends[1] as string, '--query', query, '--output', 'json'],
      { timeout: 60_000 },
    );
    const rows = stdout.trim() ? (JSON.parse(stdout) as { execution?: { workflowId?: string } }[]) : [];
    return rows.map((r) => r.execution?.workflowId ?? '').sort();
  };
  const expectations: Record<string, string[]> = {
    [`BbmRepository = "${a}"`]: [idA],
    [`BbmRepository IN ("${a}", "${b}") AND BbmStatus = "finished"`]: [idA, idB].sort(),
    [`BbmMigration = "${work.names[1]}"`]: [idB],
    [`BbmRepository IN ("${a}", "${b}") AND BbmProgress >= 100`]: [idA, idB].sort(),
    [`BbmRepository = "${b}" AND ExecutionStatus = "Completed"`]: [idB],
    [`BbmRepository = "${a}" AND BbmStatus = "running"`]: [],
    [`BbmRepository = "${options.label}/no-such-repository"`]: [],
  };
  const queries: Record<string, string[]> = {};
  // Visibility is written asynchronously after each close: wait for the last one to land.
  await waitFor(
    'both executions to be visible as finished',
    async () => (await list(Object.keys(expectations)[1] as string)).length === 2,
    60_000,
    250,
  );
  for (const [query, expected] of Object.entries(expectations)) {
    queries[query] = await list(query);
    assert.deepEqual(queries[query], expected, `temporal workflow list --query '${query}'`);
  }

  const env = cliEnv(work.db.url, work.taskQueue, { TEMPORAL_ADDRESS: tc.cluster.frontends[2] });
  const listed = await bbm(['repositories', 'list', '--json'], env);
  assert.equal(listed.code, 0, shown(listed));
  const entries = JSON.parse(listed.stdout) as {
    repository: string;
    migrations: number;
    statuses: Record<string, number>;
    workflowStatus: string | null;
  }[];
  assert.deepEqual(
    entries.map((e) => [e.repository, e.migrations, e.statuses, e.workflowStatus]),
    [a, b].map((r) => [r, 1, { finished: 1 }, 'COMPLETED']),
    shown(listed),
  );

  if (tc.cluster.uiUrl) {
    const url = `${tc.cluster.uiUrl}/api/v1/namespaces/${tc.cluster.namespace}/workflows?query=${encodeURIComponent(`BbmRepository = "${b}"`)}`;
    const body = (await (await fetch(url)).json()) as { executions?: { execution?: { workflowId?: string } }[] };
    assert.deepEqual(
      (body.executions ?? []).map((e) => e.execution?.workflowId),
      [idB],
      `the web UI's workflow list at ${url}`,
    );
  }
  return { queries, listed: entries.filter((e) => e.workflowStatus === 'COMPLETED').map((e) => e.repository) };
}
