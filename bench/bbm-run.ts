import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import { DEFAULT_TUNER_SETTINGS } from '../src/engine/batch-tuner';
import { defineMigration, type MigrationDefinition } from '../src/engine/definitions';
import type { WorkRegistry } from '../src/engine/registry';
import type { Knobs } from '../src/knobs';
import type { RepositorySummary, RepositoryWorkflow } from '../src/contract/workflows';
import { startRepositoryWorkflow } from '../src/repository/workflow';
import { workflowHistory, type WorkflowHistory } from './history';
import { poll } from './progress';

export interface BbmRunSpec {
  label: string;
  /** One migration (and repository) per entry; all of them run at once. */
  migrations: Omit<MigrationDefinition, 'repository'>[];
  knobs: Partial<Knobs>;
}

export interface BbmRunDeps {
  pool: Pool;
  client: Client;
  registry: WorkRegistry;
  taskQueue: string;
  onProgress: (rows: number, jobs: number) => void;
}

export interface JobProfile {
  jobs: number;
  /** Mean time inside the work function (the UPDATE), from bbm.jobs.duration_ms. */
  workMsPerJob: number;
  /** Mean time from one job's transaction start to the next job's, per repository. */
  cycleMsPerJob: number;
  /** cycle - work: find, bookkeeping, Temporal round trips, workflow task processing. */
  overheadMsPerJob: number;
  /** Ids per finished job (max - min + 1), smallest and largest; 0 for jobs without a range. */
  jobSizes: { min: number; max: number };
}

export interface BbmRunResult {
  label: string;
  repositories: number;
  rows: number;
  jobs: number;
  wallMs: number;
  summaries: RepositorySummary[];
  histories: WorkflowHistory[];
  largestHistory: number;
  profile: JobProfile;
  /** The migrations' targetJobMs (the first one's, bbm's default when not given): 0 for a fixed batch size. */
  targetJobMs: number;
}

/**
 * Define one migration per repository (not timed), start every repository workflow at once and
 * time from the first start to the last result. Each migration gets its own repository key, so
 * N repositories run in parallel and one runs sequentially.
 */
export async function runBbm(deps: BbmRunDeps, spec: BbmRunSpec): Promise<BbmRunResult> {
  const names = spec.migrations.map((m) => m.name);
  for (const m of spec.migrations) await defineMigration({ pool: deps.pool, registry: deps.registry }, { ...m, repository: m.name });

  const stopPolling = poll(1_000, async () => {
    const { rows } = await deps.pool.query(
      `SELECT coalesce(sum(m.rows_processed), 0)::bigint AS rows, (SELECT count(*) FROM bbm.jobs j WHERE j.migration_id = ANY(array_agg(m.id)) AND j.status = 2)::bigint AS jobs
         FROM bbm.migrations m WHERE m.name = ANY($1)`,
      [names],
    );
    deps.onProgress(Number(rows[0].rows), Number(rows[0].jobs));
  });
  const started = performance.now();
  let summaries: RepositorySummary[];
  const handles = [];
  try {
    for (const name of names) {
      const outcome = await startRepositoryWorkflow(deps.client, name, { taskQueue: deps.taskQueue, knobs: spec.knobs });
      if (!outcome.started) throw new Error(`${spec.label}: repository ${name} was already running`);
      handles.push({
        runId: outcome.runId,
        handle: deps.client.workflow.getHandle<RepositoryWorkflow>(outcome.workflowId, undefined, { firstExecutionRunId: outcome.runId }),
      });
    }
    summaries = await Promise.all(handles.map((h) => h.handle.result()));
  } finally {
    await stopPolling();
  }
  const wallMs = performance.now() - started;
  for (const s of summaries) if (s.state !== 'finished') throw new Error(`${spec.label}: repository ${s.repository} ended ${s.state}`);

  const histories = [];
  for (const h of handles) histories.push(await workflowHistory(deps.client, h.handle.workflowId, h.runId));
  const profile = await jobProfile(deps.pool, names);
  return {
    label: spec.label,
    repositories: names.length,
    rows: summaries.reduce((n, s) => n + Number(s.rows), 0), // the benchmark's own tables: far below 2^53
    jobs: summaries.reduce((n, s) => n + s.jobs, 0),
    wallMs,
    summaries,
    histories,
    largestHistory: Math.max(0, ...histories.map((h) => h.largestRun)),
    profile,
    targetJobMs: spec.migrations[0]?.targetJobMs ?? DEFAULT_TUNER_SETTINGS.targetJobMs,
  };
}

/**
 * Where a job's time goes, from bbm's own bookkeeping. finished_at is the job transaction's
 * start (now()), so consecutive finished_at values of one repository are one full job cycle apart.
 */
async function jobProfile(pool: Pool, names: string[]): Promise<JobProfile> {
  const { rows } = await pool.query(
    `WITH per_repo AS (
       SELECT m.id, count(j.*) AS jobs, sum(j.duration_ms) AS work_ms,
              min(j.max_value - j.min_value + 1) AS min_size, max(j.max_value - j.min_value + 1) AS max_size,
              extract(epoch FROM max(j.finished_at) - min(j.finished_at)) * 1000 AS span_ms
         FROM bbm.migrations m JOIN bbm.jobs j ON j.migration_id = m.id AND j.status = 2
        WHERE m.name = ANY($1) GROUP BY m.id)
     SELECT sum(jobs)::bigint AS jobs, sum(work_ms) / nullif(sum(jobs), 0) AS work,
            sum(span_ms) / nullif(sum(jobs - 1), 0) AS cycle, min(min_size) AS min_size, max(max_size) AS max_size
       FROM per_repo`,
    [names],
  );
  const r = rows[0];
  const work = Number(r.work ?? 0);
  const cycle = Number(r.cycle ?? 0);
  return {
    jobs: Number(r.jobs ?? 0),
    workMsPerJob: work,
    cycleMsPerJob: cycle,
    overheadMsPerJob: Math.max(0, cycle - work),
    // The benchmark's own tables: sizes far below 2^53.
    jobSizes: { min: Number(r.min_size ?? 0), max: Number(r.max_size ?? 0) },
  };
}

/** Split ids 1..maxId into `parts` contiguous ranges of near-equal size. */
export function splitRange(maxId: number, parts: number): { minValue: number; maxValue: number }[] {
  const out = [];
  const size = Math.ceil(maxId / parts);
  for (let lo = 1; lo <= maxId; lo += size) out.push({ minValue: lo, maxValue: Math.min(maxId, lo + size - 1) });
  return out;
}
