import { JobStatus } from '../engine/constants';
import { fromDb, fromDbOrNull } from '../engine/int8';
import { idText, num, numOrNull, type JobRow, type Queryable } from './types';

/** Named queries over bbm.jobs. */

export const JOB_COLUMNS = `id, migration_id, min_value, max_value, status, attempts, retry_base, failure_error_code, last_error, rows_affected,
  cursor_id, sub_batches, created_at, started_at, finished_at, duration_ms`;

export function toJob(r: Record<string, unknown>): JobRow {
  return {
    id: idText(r.id),
    migrationId: idText(r.migration_id),
    minValue: fromDbOrNull(r.min_value),
    maxValue: fromDbOrNull(r.max_value),
    status: num(r.status),
    attempts: num(r.attempts),
    retryBase: num(r.retry_base ?? 0),
    failureErrorCode: numOrNull(r.failure_error_code),
    lastError: (r.last_error as string | null) ?? null,
    rowsAffected: fromDb(r.rows_affected),
    cursorId: fromDbOrNull(r.cursor_id),
    subBatches: num(r.sub_batches ?? 0),
    createdAt: r.created_at as Date,
    startedAt: (r.started_at as Date | null) ?? null,
    finishedAt: (r.finished_at as Date | null) ?? null,
    durationMs: numOrNull(r.duration_ms),
  };
}

export async function insertJob(db: Queryable, migrationId: string, minValue: bigint | null, maxValue: bigint | null): Promise<JobRow> {
  const { rows } = await db.query(
    `INSERT INTO bbm.jobs (migration_id, min_value, max_value) VALUES ($1, $2, $3) RETURNING ${JOB_COLUMNS}`,
    [migrationId, minValue, maxValue],
  );
  return toJob(rows[0]);
}

export async function lockJob(db: Queryable, id: string): Promise<JobRow | undefined> {
  const { rows } = await db.query(`SELECT ${JOB_COLUMNS} FROM bbm.jobs WHERE id = $1 FOR UPDATE`, [id]);
  return rows[0] ? toJob(rows[0]) : undefined;
}

/** The job with the highest id: where the next serial range starts. */
export async function lastJob(db: Queryable, migrationId: string): Promise<JobRow | undefined> {
  const { rows } = await db.query(`SELECT ${JOB_COLUMNS} FROM bbm.jobs WHERE migration_id = $1 ORDER BY id DESC LIMIT 1`, [migrationId]);
  return rows[0] ? toJob(rows[0]) : undefined;
}

/** The lowest-id job in `status` (active = left behind by an interrupted run; failed = to retry). */
export async function firstJobWithStatus(db: Queryable, migrationId: string, status: JobStatus): Promise<JobRow | undefined> {
  const { rows } = await db.query(`SELECT ${JOB_COLUMNS} FROM bbm.jobs WHERE migration_id = $1 AND status = $2 ORDER BY id LIMIT 1`, [
    migrationId,
    status,
  ]);
  return rows[0] ? toJob(rows[0]) : undefined;
}

export async function listJobs(db: Queryable, migrationId: string): Promise<JobRow[]> {
  const { rows } = await db.query(`SELECT ${JOB_COLUMNS} FROM bbm.jobs WHERE migration_id = $1 ORDER BY id`, [migrationId]);
  return rows.map(toJob);
}

export async function markJobFinished(db: Queryable, id: string, rowsAffected: bigint, durationMs: number): Promise<void> {
  await db.query(
    `UPDATE bbm.jobs SET status = ${JobStatus.FINISHED}, attempts = attempts + 1, rows_affected = $2, duration_ms = $3::float8,
       failure_error_code = NULL, last_error = NULL, started_at = clock_timestamp() - make_interval(secs => $3::float8 / 1000),
       finished_at = clock_timestamp(), updated_at = clock_timestamp()
     WHERE id = $1`,
    [id, rowsAffected, durationMs],
  );
}

/** Record a failed attempt; returns the attempts now counted against the limit (attempts - retry_base). */
export async function markJobFailed(db: Queryable, id: string, failureCode: number, message: string, durationMs: number): Promise<number> {
  const { rows } = await db.query(
    `UPDATE bbm.jobs SET status = ${JobStatus.FAILED}, attempts = attempts + 1, failure_error_code = $2, last_error = left($3, 2000),
       duration_ms = $4::float8, started_at = clock_timestamp() - make_interval(secs => $4::float8 / 1000), updated_at = clock_timestamp()
     WHERE id = $1 RETURNING attempts - retry_base AS counted`,
    [id, failureCode, message, durationMs],
  );
  return num(rows[0]?.counted);
}

export interface JobCounts {
  active: number;
  failed: number;
  /** The range of the most recent job, for "current range" displays, as exact decimal text; `cursor`: its sub-batch cursor. */
  lastRange: { start: string | null; end: string | null; cursor: string | null } | null;
  /** last_error of the newest failed job (what an operator needs after a failure). */
  lastError: string | null;
}

/**
 * The three per-migration columns of JobCounts as scalar subqueries over `migrationId`, an SQL
 * expression (`$1`, or `m.id` inside a query over bbm.migrations m). Active and failed jobs are
 * few and behind partial indexes; finished jobs are counted on the migration row instead, so this
 * stays cheap however long a migration runs.
 */
export function jobCountsColumns(migrationId: string): string {
  // As text: a JSON number would be parsed into a JS number and lose digits beyond 2^53.
  return `(SELECT count(*) FROM bbm.jobs j WHERE j.migration_id = ${migrationId} AND j.status = ${JobStatus.ACTIVE}) AS jobs_active,
    (SELECT count(*) FROM bbm.jobs j WHERE j.migration_id = ${migrationId} AND j.status = ${JobStatus.FAILED}) AS jobs_failed,
    (SELECT json_build_object('start', j.min_value::text, 'end', j.max_value::text, 'cursor', j.cursor_id::text) FROM bbm.jobs j
      WHERE j.migration_id = ${migrationId} ORDER BY j.id DESC LIMIT 1) AS jobs_last_range,
    (SELECT j.last_error FROM bbm.jobs j WHERE j.migration_id = ${migrationId} AND j.status = ${JobStatus.FAILED} ORDER BY j.id DESC LIMIT 1) AS jobs_last_error`;
}

/** JobCounts from a row that selected jobCountsColumns. */
export function toJobCounts(r: Record<string, unknown>): JobCounts {
  return {
    active: num(r.jobs_active ?? 0),
    failed: num(r.jobs_failed ?? 0),
    lastRange: (r.jobs_last_range as JobCounts['lastRange']) ?? null,
    lastError: (r.jobs_last_error as string | null) ?? null,
  };
}

/** Active and failed jobs, the latest range and the newest failure of one migration. */
export async function jobCounts(db: Queryable, migrationId: string): Promise<JobCounts> {
  const { rows } = await db.query(`SELECT ${jobCountsColumns('$1')}`, [migrationId]);
  return toJobCounts(rows[0] ?? {});
}

/** Give a migration's failed jobs a fresh attempt budget (retry / re-run), keeping their stored attempts. */
export async function resetRetryBudget(db: Queryable, migrationId: string): Promise<void> {
  await db.query(`UPDATE bbm.jobs SET retry_base = attempts, updated_at = now() WHERE migration_id = $1 AND status = ${JobStatus.FAILED}`, [
    migrationId,
  ]);
}
