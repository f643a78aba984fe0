import type { Pool } from 'pg';
import { defineMigration, type MigrationDefinition } from '../src/engine/definitions';
import { executeJob } from '../src/engine/execute-job';
import { findJob } from '../src/engine/find-job';
import { acquireLease } from '../src/engine/lease';
import type { WorkRegistry } from '../src/engine/registry';
import type { JobDescriptor } from '../src/engine/types';
import { releaseLease, renewLease } from '../src/store/leases';
import { withSqlProfile, type StatementCost } from './sql-profile';

export interface EngineLoopResult {
  rows: number;
  jobs: number;
  /** findJob calls: 1 plus those find-ahead could not save. */
  finds: number;
  wallMs: number;
  /** Mean ms per job in each engine call, and in the work function alone (from bbm.jobs). */
  renewMs: number;
  findMs: number;
  executeMs: number;
  workMs: number;
  /** Statements per job and their cost, most expensive first. */
  statements: { statement: string; perJob: number; msPerCall: number; msPerJob: number }[];
}

/**
 * A profile, not a contender: the repository workflow's batch loop (renew, find, execute) called
 * in-process, one after the other, with no Temporal at all. The gap to the plain loop is bbm's SQL
 * bookkeeping; the gap from here to the bbm run is orchestration (activities, workflow tasks).
 */
export async function engineLoop(
  deps: { pool: Pool; registry: WorkRegistry },
  def: Omit<MigrationDefinition, 'repository'>,
  onProgress: (rows: number) => void,
): Promise<EngineLoopResult> {
  await defineMigration(deps, { ...def, repository: def.name });
  const ttlMs = 600_000;
  const fence = await acquireLease(deps.pool, { repository: def.name, holder: 'bench-engine-loop', ttlMs, waitMs: 10_000 });
  const profiled = await withSqlProfile(() => loop(deps, def.name, fence, onProgress));
  await releaseLease(deps.pool, fence);
  const { rows: w } = await deps.pool.query(
    'SELECT avg(j.duration_ms) AS work FROM bbm.jobs j JOIN bbm.migrations m ON m.id = j.migration_id WHERE m.name = $1',
    [def.name],
  );
  const r = profiled.result;
  const jobs = Math.max(1, r.jobs);
  return { ...r, workMs: Number(w[0].work ?? 0), statements: perJob(profiled.statements, jobs) };
}

function perJob(statements: StatementCost[], jobs: number): EngineLoopResult['statements'] {
  return statements.map((s) => ({
    statement: s.statement,
    perJob: s.calls / jobs,
    msPerCall: s.msPerCall,
    msPerJob: (s.calls * s.msPerCall) / jobs,
  }));
}

async function loop(
  deps: { pool: Pool; registry: WorkRegistry },
  repository: string,
  fence: Awaited<ReturnType<typeof acquireLease>>,
  onProgress: (rows: number) => void,
): Promise<Omit<EngineLoopResult, 'workMs' | 'statements'>> {
  const ttlMs = 600_000;
  let rows = 0;
  let jobs = 0;
  let renewMs = 0;
  let findMs = 0;
  let executeMs = 0;
  const started = performance.now();
  // As the repository workflow does: find only when the last execute did not find ahead.
  let next: JobDescriptor | null = null;
  let finds = 0;
  for (;;) {
    let t = performance.now();
    if (!next) {
      await renewLease(deps.pool, fence, ttlMs);
      renewMs += performance.now() - t;
      t = performance.now();
      next = (await findJob(deps.pool, { repository, fence, maxJobAttempts: 5 })).job;
      findMs += performance.now() - t;
      finds += 1;
    }
    if (!next) break;
    t = performance.now();
    const result = await executeJob(deps, {
      jobId: next.jobId,
      maxJobAttempts: 5,
      jobTimeoutMs: 120_000,
      fence,
      findAhead: { exclude: [], leaseTtlMs: ttlMs },
    });
    executeMs += performance.now() - t;
    next = result.next ?? null;
    rows += Number(result.rows); // the benchmark's own tables: far below 2^53
    jobs += 1;
    if (jobs % 10 === 0) onProgress(rows);
  }
  const wallMs = performance.now() - started;
  const per = (ms: number): number => ms / Math.max(1, jobs);
  return { rows, jobs, finds, wallMs, renewMs: per(renewMs), findMs: per(findMs), executeMs: per(executeMs) };
}
