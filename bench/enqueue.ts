import os from 'node:os';
import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import { defineMigration } from '../src/engine/definitions';
import type { WorkRegistry } from '../src/engine/registry';
import { enqueuerStatus, wakeEnqueuer } from '../src/enqueuer/client';
import type { Knobs } from '../src/knobs';
import { enqueuerWorkflowId, repositoryWorkflowId } from '../src/contract/ids';
import { workflowHistory, type WorkflowHistory } from './history';

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
  /** The enqueuer's largest run (it continues as new) and a few tiny repositories' histories, in events. */
  histories?: { enqueuer: WorkflowHistory; largestRepository: number };
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
  const { workflowId, runId } = await wakeEnqueuer(
    deps.client,
    deps.taskQueue,
    { reason: 'bench', repositoryPrefix, knobs: options.knobs },
    { capacity: Math.min(1_000, options.count) },
  );
  let startMs = 0;
  let histories: EnqueueResult['histories'];
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
    histories = await enqueueHistories(deps.client, workflowId, runId, names);
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
    histories,
  };
}

/** The enqueuer's every run, and the first, middle and last tiny repository (all alike: one job each). */
async function enqueueHistories(
  client: Client,
  enqueuerId: string,
  enqueuerRunId: string,
  names: string[],
): Promise<EnqueueResult['histories']> {
  const enqueuer = await workflowHistory(client, enqueuerId, enqueuerRunId);
  let largestRepository = 0;
  for (const name of new Set([names[0], names[Math.floor(names.length / 2)], names[names.length - 1]])) {
    if (name === undefined) continue;
    const id = repositoryWorkflowId(name);
    const first = await client.workflow.getHandle(id).describe();
    largestRepository = Math.max(largestRepository, (await workflowHistory(client, id, first.runId)).largestRun);
  }
  return { enqueuer, largestRepository };
}

/** The report of `npm run bench -- --only enqueuer`: starts/s, the worker's peak RSS and the largest histories. */
export function formatEnqueuerOnly(e: EnqueueResult, phasePeakMB: number, peakMB: number, loadAtStart: number[]): string {
  const h = e.histories;
  const enqueuerRuns = h ? `${h.enqueuer.largestRun} events in its largest of ${h.enqueuer.runs.length} run(s)` : 'not measured';
  return [
    `load average at start: ${loadAtStart.join(', ')}; at end: ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(', ')}`,
    `enqueuer: ${e.repositories} tiny repositories started in ${(e.startMs / 1000).toFixed(1)} s = ${e.startsPerSecond.toFixed(1)} repositories/s` +
      ` (all finished after ${(e.completeMs / 1000).toFixed(1)} s = ${e.completedPerSecond.toFixed(1)}/s); ${e.method}`,
    `worker peak RSS: ${phasePeakMB.toFixed(0)} MB in this phase, ${peakMB.toFixed(0)} MB over the whole run (warm-up and shutdown included)`,
    `largest history: enqueuer ${enqueuerRuns}; tiny repository ${h?.largestRepository ?? 'not measured'} events`,
  ].join('\n');
}
