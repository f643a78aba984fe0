import { JobStatus, MigrationStatus } from '../engine/constants';
import { numOrNull, type MigrationRow, type Queryable } from './types';
import { toMigration } from './migrations';

/**
 * Named queries for sub-batches: the bookkeeping a sub-batch commits with its work, and the
 * settings. Cursors, row counts and spans are `bigint` (Postgres bigint, exact), passed as
 * parameters; bbm's own job id is its decimal text. Postgres does the arithmetic.
 */

/** What one committed sub-batch adds: the job's cursor and rows, and the migration's counters. */
export interface SubBatchRecord {
  /** bbm.jobs.id, a decimal string. */
  jobId: string;
  /** Range strategies: the sub-batch's last id, the job's new cursor; null for the NULL strategy. */
  cursorId: bigint | null;
  /** Rows the work changed in this sub-batch. */
  rows: bigint;
  /** Ids the sub-batch covers (range strategies), for the migration's covered_ids (up to 2^64); 0 for the NULL strategy. */
  span: bigint;
}

/**
 * A sub-batch that does not finish its job: move the job's cursor, add its rows, and count them on
 * the migration, in one statement. The job is (again) active: it is in progress, and after a
 * crash find hands it out before anything else, so the retry continues after the cursor.
 */
export async function recordSubBatch(db: Queryable, r: SubBatchRecord): Promise<void> {
  await db.query(
    `WITH job AS (
       UPDATE bbm.jobs SET status = ${JobStatus.ACTIVE}, cursor_id = $2::bigint, rows_affected = rows_affected + $3::bigint,
              sub_batches = sub_batches + 1, started_at = coalesce(started_at, clock_timestamp()), updated_at = clock_timestamp()
        WHERE id = $1 RETURNING migration_id)
     UPDATE bbm.migrations SET rows_processed = rows_processed + $3::bigint, covered_ids = covered_ids + $4::numeric, updated_at = now()
      WHERE id = (SELECT migration_id FROM job)`,
    [r.jobId, r.cursorId, r.rows, r.span],
  );
}

/**
 * The sub-batch that finishes its job: the job is finished with the rows of all its sub-batches,
 * and the migration counts this sub-batch's rows and span plus one finished job. Returns the
 * updated migration (for progress). An attempt is counted, as for a job run in one transaction.
 */
export async function finishSubBatchedJob(db: Queryable, r: SubBatchRecord & { durationMs: number }): Promise<MigrationRow> {
  const { rows } = await db.query(
    `WITH job AS (
       UPDATE bbm.jobs SET status = ${JobStatus.FINISHED}, attempts = attempts + 1, cursor_id = coalesce($2::bigint, max_value),
              rows_affected = rows_affected + $3::bigint, sub_batches = sub_batches + 1, failure_error_code = NULL, last_error = NULL,
              duration_ms = $5::float8, started_at = coalesce(started_at, clock_timestamp() - make_interval(secs => $5::float8 / 1000)),
              finished_at = clock_timestamp(), updated_at = clock_timestamp()
        WHERE id = $1 RETURNING migration_id)
     UPDATE bbm.migrations SET rows_processed = rows_processed + $3::bigint, covered_ids = covered_ids + $4::numeric,
            jobs_finished = jobs_finished + 1, updated_at = now()
      WHERE id = (SELECT migration_id FROM job) RETURNING *`,
    [r.jobId, r.cursorId, r.rows, r.span, r.durationMs],
  );
  return toMigration(rows[0]);
}

/** Fields a settings change may set; absent ones keep their value (subBatchSize null clears it). */
export interface BatchSettingsChange {
  batchSize?: number;
  subBatchSize?: number | null;
  subBatchPauseMs?: number;
  /** Adaptive batch size (src/engine/batch-tuner.ts): target ms per job (0: off) and the tuned size's bounds. */
  targetJobMs?: number;
  minBatchSize?: number;
  maxBatchSize?: number;
}

/** A migration's batch settings after a change. */
export interface BatchSettings {
  name: string;
  batchSize: number;
  subBatchSize: number | null;
  subBatchPauseMs: number;
  targetJobMs: number;
  minBatchSize: number;
  maxBatchSize: number;
}

/**
 * Apply a settings change to the unfinished migrations of a repository (or one by name) and
 * return their new settings, so the caller can check them before it commits. The tuning bounds
 * bound what the tuner chooses after the next job, not a batch size set here; bounds with min
 * above max come back unchanged for the caller to refuse (the table's CHECK is the last line).
 */
export async function updateBatchSettings(
  db: Queryable,
  filter: { repository?: string; name?: string },
  change: BatchSettingsChange,
): Promise<BatchSettings[]> {
  const { rows } = await db.query(
    `WITH bounds AS (
       SELECT id, coalesce($8::integer, min_batch_size) AS lo, coalesce($9::integer, max_batch_size) AS hi
         FROM bbm.migrations
        WHERE ($1::text IS NULL OR repository = $1) AND ($2::text IS NULL OR name = $2)
          AND status NOT IN (${MigrationStatus.FINISHED}))
     UPDATE bbm.migrations m
        SET batch_size = coalesce($3, m.batch_size),
            sub_batch_size = CASE WHEN $4::boolean THEN $5::integer ELSE m.sub_batch_size END,
            sub_batch_pause_ms = coalesce($6, m.sub_batch_pause_ms), target_job_ms = coalesce($7, m.target_job_ms),
            min_batch_size = CASE WHEN b.lo <= b.hi THEN b.lo ELSE m.min_batch_size END,
            max_batch_size = CASE WHEN b.lo <= b.hi THEN b.hi ELSE m.max_batch_size END, updated_at = now()
       FROM bounds b WHERE m.id = b.id
      RETURNING m.name, m.batch_size, m.sub_batch_size, m.sub_batch_pause_ms, m.target_job_ms, b.lo AS min_batch_size, b.hi AS max_batch_size`,
    [
      filter.repository ?? null,
      filter.name ?? null,
      change.batchSize ?? null,
      change.subBatchSize !== undefined,
      change.subBatchSize ?? null,
      change.subBatchPauseMs ?? null,
      change.targetJobMs ?? null,
      change.minBatchSize ?? null,
      change.maxBatchSize ?? null,
    ],
  );
  return rows
    .map((r) => ({
      name: String(r.name),
      batchSize: Number(r.batch_size),
      subBatchSize: numOrNull(r.sub_batch_size),
      subBatchPauseMs: Number(r.sub_batch_pause_ms),
      targetJobMs: Number(r.target_job_ms),
      minBatchSize: Number(r.min_batch_size),
      maxBatchSize: Number(r.max_batch_size),
    }))
    .sort((a, b) => a.name.localeCompare(b.name));
}
