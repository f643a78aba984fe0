import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import { defineMigration } from '../src/engine/definitions';
import type { WorkRegistry } from '../src/engine/registry';
import { enqueuerStatus, wakeEnqueuer } from '../src/enqueuer/client';
import type { Knobs } from '../src/knobs';
import { enqueuerWorkflowId, repositoryWorkflowId } from '../src/contract/ids';

export interface EnqueueDeps {
  pool: Pool;
  client: Client;
  registry: WorkRegistry;
  taskQueue: string;
  onProgress: (started: number, finished: number) => void;
}

export interface EnqueueResult {
  method: string;
  repositories: number;
  /** From the wake-up until every repository workflow exists (Temporal visibility, or its migration left `active`). */
  startMs: number;
  startsPerSecond: number;
  /** From the wake-up until every tiny migration has finished. */
  completeMs: number;
  completedPerSecond: number;
}

/**
 * Enqueuer throughput: `count` tiny repositories (one no-op migration of one job each) and one
 * wake-up of the enqueuer (src/enqueuer) with that much capacity; time until it reports them all
 * started, then until all have finished.
 */
export async function enqueueThroughput(
  deps: EnqueueDeps,
  options: { count: number; table: string; prefix: string; knobs: Partial<Knobs> },
): Promise<EnqueueResult> {
  const repositoryPrefix = `${options.prefix}-tiny-`;
  const names = Array.from({ length: options.count }, (_, i) => `${repositoryPrefix}${i}`);
  for (const name of names) {
    await defineMigration(
      { pool: deps.pool, registry: deps.registry },
      { name, repository: name, work: 'noop', table: options.table, column: 'id', batchSize: 1, targetJobMs: 0 },
    );
  }
  // A started repository workflow takes its migration's job at once (active -> running -> finished),
  // so the migrations' statuses show starts and completions without asking Temporal's visibility.
  const counts = async (): Promise<{ begun: number; finished: number }> => {
    const { rows } = await deps.pool.query(
      'SELECT count(*) FILTER (WHERE status <> 1)::int AS begun, count(*) FILTER (WHERE status = 2)::int AS finished FROM bbm.migrations WHERE repository LIKE $1',
      [`${repositoryPrefix}%`],
    );
    return { begun: Number(rows[0].begun), finished: Number(rows[0].finished) };
  };
  const visible = async (): Promise<number> => {
    try {
      return (
        await deps.client.workflow.count(
          `WorkflowType = 'repositoryMigration' AND WorkflowId STARTS_WITH '${repositoryWorkflowId(repositoryPrefix)}'`,
        )
      ).count;
    } catch {
      return 0; // a visibility store without STARTS_WITH: fall back to the migrations' statuses
    }
  };
  const started = performance.now();
  await wakeEnqueuer(
    deps.client,
    deps.taskQueue,
    { reason: 'bench', repositoryPrefix, knobs: options.knobs },
    { capacity: Math.min(1_000, options.count) },
  );
  let startMs = 0;
  try {
    for (;;) {
      const c = await counts();
      // The enqueuer's own count lags (it reports after each wake-up) and its query can time out while
      // the worker is busy with a thousand workflows; visibility and the migrations do not depend on it.
      const reported = (await enqueuerStatus(deps.client, deps.taskQueue).catch(() => undefined))?.startedTotal ?? 0;
      const begun = Math.max(c.begun, reported, await visible());
      if (!startMs && begun >= options.count) startMs = performance.now() - started;
      deps.onProgress(begun, c.finished);
      if (c.finished >= options.count) break;
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    await deps.client.workflow
      .getHandle(enqueuerWorkflowId(deps.taskQueue))
      .terminate('benchmark done')
      .catch(() => undefined);
  }
  const completeMs = performance.now() - started;
  startMs ||= completeMs;
  return {
    method: 'one wake-up of the enqueuer (src/enqueuer), capacity = the repository count',
    repositories: options.count,
    startMs,
    startsPerSecond: options.count / (startMs / 1000),
    completeMs,
    completedPerSecond: options.count / (completeMs / 1000),
  };
}
