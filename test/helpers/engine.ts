import { randomBytes } from 'node:crypto';
import { after } from 'node:test';
import { Client, type Pool } from 'pg';
import { createPool } from '../../src/db/pool';
import { defineMigration, type MigrationDefinition } from '../../src/engine/definitions';
import { executeJob, type ExecuteJobDeps, type ExecuteJobInput } from '../../src/engine/execute-job';
import { findJob, type FindJobInput } from '../../src/engine/find-job';
import { acquireLease } from '../../src/engine/lease';
import type { WorkRegistry, WorkContext, WorkFunction } from '../../src/engine/registry';
import type { ExecuteJobResult, FenceToken, FindJobResult, JobDescriptor } from '../../src/engine/types';
import { ErrorCode, isBbmError } from '../../src/errors';
import { listJobs } from '../../src/store/jobs';
import { releaseLease } from '../../src/store/leases';
import { migrationByName } from '../../src/store/migrations';
import type { JobRow, MigrationRow } from '../../src/store/types';
import { testEnv } from './env';

/**
 * Drives the engine the way the anchor's synchronous worker does (find, execute, repeat), with
 * no Temporal in between, so engine behaviour can be asserted on its own.
 */

export const REPO = 'r';
export const JOB_TIMEOUT_MS = 60_000;

export interface Engine {
  pool: Pool;
  registry: WorkRegistry;
}

export interface StepOptions extends Partial<Omit<FindJobInput, 'fence'>> {
  /** Take the repository lease with this holder for the step, and pass its fence to find and execute. */
  holder?: string;
}

export interface StepResult {
  find: FindJobResult;
  job: JobDescriptor | null;
  /** Code of the WORK_FAILED / NO_PROGRESS / MAX_JOB_RETRY error the execution ended with, if any. */
  error?: string;
}

export { registryWith } from './work';

/**
 * executeJob as the workflow calls it for a job it found: 3 attempts, JOB_TIMEOUT_MS, and
 * find-ahead extending the lease by `leaseTtlMs` (60 s); `more` adds or overrides input fields
 * (runAhead, healthCheckInMs...).
 */
export function executeFound(
  deps: ExecuteJobDeps,
  job: JobDescriptor,
  fence: FenceToken,
  more: Partial<ExecuteJobInput> = {},
  leaseTtlMs = 60_000,
): Promise<ExecuteJobResult> {
  return executeJob(deps, {
    jobId: job.jobId,
    migrationId: job.migrationId,
    maxJobAttempts: 3,
    jobTimeoutMs: JOB_TIMEOUT_MS,
    fence,
    findAhead: { exclude: [], leaseTtlMs },
    ...more,
  });
}

/** A work function defined inline by a test. */
export function work(name: string, run: (ctx: WorkContext) => Promise<number>): WorkFunction {
  return { name, description: `test work ${name}`, run };
}

/**
 * Defaults: increment `counter` over items.id in repository REPO, with a fixed batch size (engine
 * tests assert exact job ranges; the adaptive batch size has its own, test/engine-batch-tuning.test.ts).
 */
export function define(engine: Engine, def: Partial<MigrationDefinition> & { name: string }): Promise<MigrationRow> {
  return defineMigration(engine, {
    repository: REPO,
    work: 'increment',
    table: 'items',
    column: 'id',
    args: { target: 'counter' },
    targetJobMs: 0,
    ...def,
  });
}

/** One find + one execute. Work failures are returned, anything else is thrown. */
export async function step(engine: Engine, options: StepOptions = {}): Promise<StepResult> {
  const repository = options.repository ?? REPO;
  const maxJobAttempts = options.maxJobAttempts ?? 3;
  const fence = options.holder
    ? await acquireLease(engine.pool, { repository, holder: options.holder, ttlMs: 60_000, waitMs: 60_000 })
    : undefined;
  try {
    const find = await findJob(engine.pool, { ...options, repository, maxJobAttempts, fence });
    if (!find.job) return { find, job: null };
    try {
      await executeJob(engine, { jobId: find.job.jobId, maxJobAttempts, jobTimeoutMs: JOB_TIMEOUT_MS, fence });
      return { find, job: find.job };
    } catch (err) {
      if (isBbmError(err, ErrorCode.WORK_FAILED) || isBbmError(err, ErrorCode.NO_PROGRESS) || isBbmError(err, ErrorCode.MAX_JOB_RETRY))
        return { find, job: find.job, error: err.code };
      throw err;
    }
  } finally {
    if (fence) await releaseLease(engine.pool, fence);
  }
}

export interface RunSummary {
  steps: StepResult[];
  errors: string[];
}

/**
 * Steps until no job is left. Migrations that fail during the run are excluded from later finds,
 * so `retryFailed` re-runs each failed migration once instead of forever (as the anchor's run,
 * which stops at the first exhausted job).
 */
export async function runToEnd(engine: Engine, options: StepOptions & { maxSteps?: number } = {}): Promise<RunSummary> {
  const steps: StepResult[] = [];
  const exclude = [...(options.exclude ?? [])];
  for (let i = 0; i < (options.maxSteps ?? 500); i++) {
    const result = await step(engine, { ...options, exclude });
    for (const failed of result.find.failed) exclude.push(failed.id);
    if (result.error === ErrorCode.MAX_JOB_RETRY && result.job) exclude.push(result.job.migrationId);
    if (!result.job) return { steps, errors: steps.flatMap((s) => (s.error ? [s.error] : [])) };
    steps.push(result);
  }
  throw new Error(`runToEnd: still finding jobs after ${options.maxSteps ?? 500} steps`);
}

export async function migration(pool: Pool, name: string): Promise<MigrationRow> {
  const m = await migrationByName(pool, name);
  if (!m) throw new Error(`no migration ${name}`);
  return m;
}

export async function jobsOf(pool: Pool, name: string): Promise<JobRow[]> {
  return listJobs(pool, (await migration(pool, name)).id);
}

/** [min, max, attempts, status] per job, bounds as exact decimal text: compact enough to compare in one assertion. */
export async function jobSummary(pool: Pool, name: string): Promise<Array<[string | null, string | null, number, number]>> {
  return (await jobsOf(pool, name)).map((j) => [j.minValue?.toString() ?? null, j.maxValue?.toString() ?? null, j.attempts, j.status]);
}

export { counters } from './db';

export interface Deferred<T = void> {
  promise: Promise<T>;
  resolve(value: T): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** A brand-new database without bbm's schema (for schema migration tests); its pools end after the file. */
export async function createEmptyDatabase(label: string): Promise<{ url: string; pool(max?: number): Pool }> {
  const adminUrl = testEnv.adminUrl;
  const name = `e_${label.replace(/\W/g, '_').slice(0, 30)}_${randomBytes(4).toString('hex')}`;
  const admin = new Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name} TEMPLATE template0`);
  } finally {
    await admin.end();
  }
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  const url = u.toString();
  return {
    url,
    pool(max = 4) {
      const pool = createPool({ url, max });
      after(() => pool.end());
      return pool;
    },
  };
}
