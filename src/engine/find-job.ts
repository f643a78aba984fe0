import type { Pool, PoolClient } from 'pg';
import { leaseLost } from '../errors';
import { firstJobWithStatus, insertJob, lastJob, resetRetryBudget } from '../store/jobs';
import { holdAndRenewLease } from '../store/leases';
import { uniqueColumnSql } from '../store/catalog';
import { lockNextFailed, lockNextRunnable, setMigrationStatus } from '../store/migrations';
import { distinctBoundary, nullsExist, rowBoundary } from '../store/target';
import { withTransaction } from '../store/transaction';
import type { JobRow, MigrationRow } from '../store/types';
import { BatchingStrategy, FailureCode, failureCodeName, isKnownStrategy, JobStatus, MigrationStatus } from './constants';
import { parseTableName } from './identifiers';
import { decimal } from './int8';
import { nextRange } from './range';
import type { FenceToken, FindJobResult, JobDescriptor, MigrationRef } from './types';

export interface FindJobInput {
  repository: string;
  /** Attempts after which a failed job fails its migration. */
  maxJobAttempts: number;
  /** Checked (and share-locked) before anything is written. Omit only outside the workflow (tests, sync runs). */
  fence?: FenceToken;
  /** Re-run failed migrations first, as the anchor's synchronous `run` does. @default false */
  retryFailed?: boolean;
  /** Ids of migrations to pass over (e.g. ones that failed earlier in this run), as decimal strings. */
  exclude?: string[];
  /** With a fence: extend the lease to this lifetime, so long batches never outlive it. @default 5 min */
  leaseTtlMs?: number;
}

/**
 * Pick the next job of a repository, in the anchor's order:
 *  1. (with retryFailed) failed migrations, lowest id: back to running with a fresh attempt
 *     budget, their first failed job first;
 *  2. running before active, lowest id. Within a migration: a job left active by an interrupted
 *     run, then the next new range, then failed jobs under the attempt limit (lowest id); a failed
 *     job at the limit fails the migration (max_job_retry); nothing left finishes it.
 * New ranges come before retries, which is what the anchor's tests assert (always-failing work
 * with limit 2 leaves job 1 at 2 attempts and job 2 at 1). NULL-strategy jobs have no range, so
 * there a failed job is retried before any new one. Everything happens in one transaction.
 * A range strategy's next job starts after the previous job's end, so ranges never overlap and
 * tile min..max; its end is computed in exact bigint arithmetic (src/engine/range.ts).
 */
export async function findJob(pool: Pool, input: FindJobInput): Promise<FindJobResult> {
  return withTransaction(pool, async (client) => {
    if (input.fence && !(await holdAndRenewLease(client, input.fence, input.leaseTtlMs ?? 300_000))) throw leaseLost(input.fence);
    const result: FindJobResult = { job: null, finished: [], failed: [] };
    const exclude = [...(input.exclude ?? [])];

    for (;;) {
      if (input.retryFailed) {
        const failedMigration = await lockNextFailed(client, input.repository, exclude);
        if (failedMigration) {
          if (await failIfInvalid(client, failedMigration, result, exclude)) continue;
          await resetRetryBudget(client, failedMigration.id);
          const failedJob = await firstJobWithStatus(client, failedMigration.id, JobStatus.FAILED);
          await setMigrationStatus(client, failedMigration.id, MigrationStatus.RUNNING);
          if (failedJob) return withJob(result, failedMigration, failedJob);
          continue; // back to running; the normal path below decides what is left
        }
      }

      const migration = await lockNextRunnable(client, input.repository, exclude);
      if (!migration) return result;
      if (await failIfInvalid(client, migration, result, exclude)) continue;
      if (migration.status === MigrationStatus.ACTIVE) await setMigrationStatus(client, migration.id, MigrationStatus.RUNNING);

      const job =
        (await firstJobWithStatus(client, migration.id, JobStatus.ACTIVE)) ??
        (await newJob(client, migration)) ??
        (await firstJobWithStatus(client, migration.id, JobStatus.FAILED));
      if (job && (job.status !== JobStatus.FAILED || job.attempts - job.retryBase < input.maxJobAttempts))
        return withJob(result, migration, job);

      if (job) {
        await setMigrationStatus(client, migration.id, MigrationStatus.FAILED, FailureCode.MAX_JOB_RETRY);
        result.failed.push(ref(migration, FailureCode.MAX_JOB_RETRY));
      } else {
        await setMigrationStatus(client, migration.id, MigrationStatus.FINISHED);
        result.finished.push(ref(migration, null));
      }
      exclude.push(migration.id);
    }
  });
}

/** Fail a migration whose target is gone or whose strategy is unknown; true when it did. */
async function failIfInvalid(client: PoolClient, migration: MigrationRow, result: FindJobResult, exclude: string[]): Promise<boolean> {
  const invalid = await validateTarget(client, migration);
  if (invalid === null) return false;
  await setMigrationStatus(client, migration.id, MigrationStatus.FAILED, invalid);
  result.failed.push(ref(migration, invalid));
  exclude.push(migration.id);
  return true;
}

// No progress here: executeJob reports it once per job; computing it here too cost a third of find.
function withJob(result: FindJobResult, migration: MigrationRow, job: JobRow): FindJobResult {
  result.job = describeJob(migration, job);
  return result;
}

export function describeJob(migration: MigrationRow, job: JobRow): JobDescriptor {
  return {
    jobId: job.id,
    migrationId: migration.id,
    migrationName: migration.name,
    repository: migration.repository,
    workName: migration.work,
    table: migration.tableName,
    column: migration.columnName,
    strategy: migration.batchingStrategy,
    start: decimal(job.minValue),
    end: decimal(job.maxValue),
    batchSize: migration.batchSize,
    attempts: job.attempts,
  };
}

/**
 * The table or column may have been dropped, the serial column may have lost the unique index
 * that bounds its jobs to batchSize rows, or the strategy be one this version does not know.
 */
async function validateTarget(client: PoolClient, m: MigrationRow): Promise<FailureCode | null> {
  if (!isKnownStrategy(m.batchingStrategy)) return FailureCode.INVALID_BATCHING_STRATEGY;
  let table;
  try {
    table = parseTableName(m.tableName);
  } catch {
    return FailureCode.INVALID_TABLE;
  }
  // One round trip: this runs before every job.
  const rel = `to_regclass(format('%I.%I', $1::text, $2::text))`;
  const { rows } = await client.query(
    `SELECT ${rel} IS NOT NULL AS table_ok,
            EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = ${rel} AND attname = $3 AND attnum > 0 AND NOT attisdropped) AS column_ok,
            ($4::text <> '${BatchingStrategy.SERIAL}' OR ${uniqueColumnSql(rel, '$3')}) AS unique_ok`,
    [table.schema, table.name, m.columnName, m.batchingStrategy],
  );
  if (!rows[0]?.table_ok) return FailureCode.INVALID_TABLE;
  if (!rows[0]?.column_ok || !rows[0]?.unique_ok) return FailureCode.INVALID_COLUMN;
  return null;
}

/** The next range (serial, distinct) or the next NULL batch (null strategy); undefined when there is none. */
async function newJob(client: PoolClient, m: MigrationRow): Promise<JobRow | undefined> {
  const table = parseTableName(m.tableName);
  if (m.batchingStrategy === BatchingStrategy.NULL_ROWS) {
    // NULL jobs have no range, so a new job would just redo a failed one with a fresh attempt
    // count and a failing migration would never reach the limit: retry the failed job instead.
    if (await firstJobWithStatus(client, m.id, JobStatus.FAILED)) return undefined;
    return (await nullsExist(client, table, m.columnName)) ? insertJob(client, m.id, null, null) : undefined;
  }
  const last = await lastJob(client, m.id);
  const step = nextRange(m.minValue, m.maxValue ?? m.minValue, last?.maxValue ?? null, m.batchSize);
  if (!step) return undefined;
  let end = step.end;
  if (step.lookup) {
    // The batchSize-th row (serial) or distinct value (distinct) ends the range, so sparse values never make empty jobs.
    const boundary = m.batchingStrategy === BatchingStrategy.DISTINCT ? distinctBoundary : rowBoundary;
    end = (await boundary(client, table, m.columnName, step.start, step.end, m.batchSize)) ?? step.end;
  }
  return insertJob(client, m.id, step.start, end);
}

function ref(m: MigrationRow, failure: FailureCode | null): MigrationRef {
  return { id: m.id, name: m.name, failure: failureCodeName(failure) };
}
