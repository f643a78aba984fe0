import { DEFAULT_SUB_BATCH_PAUSE_MS } from '../contract/sub-batches';
import { MigrationStatus } from '../engine/constants';
import { fromDb, fromDbOrNull } from '../engine/int8';
import { idText, num, numOrNull, type MigrationRow, type Queryable } from './types';

/** Named queries over bbm.migrations. */

export const MIGRATION_COLUMNS = `id, name, repository, job_name, table_name, column_name, work_args, min_value, max_value, batch_size,
  sub_batch_size, sub_batch_pause_ms, target_job_ms, min_batch_size, max_batch_size, tuner_state, pause_requested, pause_reason, batching_strategy, status, failure_error_code, total_tuple_count, rows_processed, jobs_finished, covered_ids, created_at, updated_at, started_at, finished_at`;

export function toMigration(r: Record<string, unknown>): MigrationRow {
  return {
    id: idText(r.id),
    name: String(r.name),
    repository: String(r.repository),
    work: String(r.job_name),
    tableName: String(r.table_name),
    columnName: String(r.column_name),
    workArgs: (r.work_args ?? {}) as Record<string, unknown>,
    minValue: fromDb(r.min_value),
    maxValue: fromDbOrNull(r.max_value),
    batchSize: num(r.batch_size),
    subBatchSize: numOrNull(r.sub_batch_size),
    subBatchPauseMs: num(r.sub_batch_pause_ms ?? DEFAULT_SUB_BATCH_PAUSE_MS),
    targetJobMs: num(r.target_job_ms ?? 0),
    minBatchSize: num(r.min_batch_size ?? 1),
    maxBatchSize: num(r.max_batch_size ?? 1_000_000),
    pauseRequested: r.pause_requested === true,
    pausedByCancel: r.pause_reason === 'cancel',
    tunerState: (r.tuner_state as MigrationRow['tunerState'] | undefined) ?? { samples: [], afterFailure: false },
    batchingStrategy: String(r.batching_strategy),
    status: num(r.status),
    failureErrorCode: numOrNull(r.failure_error_code),
    totalTupleCount: fromDbOrNull(r.total_tuple_count),
    rowsProcessed: fromDb(r.rows_processed),
    jobsFinished: num(r.jobs_finished ?? 0),
    coveredIds: fromDb(r.covered_ids ?? 0),
    createdAt: r.created_at as Date,
    updatedAt: r.updated_at as Date,
    startedAt: (r.started_at as Date | null) ?? null,
    finishedAt: (r.finished_at as Date | null) ?? null,
  };
}

export interface NewMigration {
  name: string;
  repository: string;
  work: string;
  tableName: string;
  columnName: string;
  workArgs: Record<string, unknown>;
  minValue: bigint;
  maxValue: bigint | null;
  batchSize: number;
  /** @default null (one transaction per job) */
  subBatchSize?: number | null;
  /** @default DEFAULT_SUB_BATCH_PAUSE_MS */
  subBatchPauseMs?: number;
  /** Adaptive batch size, resolved by the caller (src/engine/batch-tuner.ts resolveTunerSettings). */
  targetJobMs: number;
  minBatchSize: number;
  maxBatchSize: number;
  batchingStrategy: string;
  totalTupleCount: bigint | null;
  status: MigrationStatus;
}

export async function insertMigration(db: Queryable, m: NewMigration): Promise<MigrationRow> {
  const { rows } = await db.query(
    `INSERT INTO bbm.migrations (name, repository, job_name, table_name, column_name, work_args, min_value, max_value,
       batch_size, batching_strategy, total_tuple_count, status, sub_batch_size, sub_batch_pause_ms,
       target_job_ms, min_batch_size, max_batch_size)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) RETURNING ${MIGRATION_COLUMNS}`,
    [
      m.name,
      m.repository,
      m.work,
      m.tableName,
      m.columnName,
      JSON.stringify(m.workArgs),
      m.minValue,
      m.maxValue,
      m.batchSize,
      m.batchingStrategy,
      m.totalTupleCount,
      m.status,
      m.subBatchSize ?? null,
      m.subBatchPauseMs ?? DEFAULT_SUB_BATCH_PAUSE_MS,
      m.targetJobMs,
      m.minBatchSize,
      m.maxBatchSize,
    ],
  );
  return toMigration(rows[0]);
}

export async function migrationByName(db: Queryable, name: string): Promise<MigrationRow | undefined> {
  const { rows } = await db.query(`SELECT ${MIGRATION_COLUMNS} FROM bbm.migrations WHERE name = $1`, [name]);
  return rows[0] ? toMigration(rows[0]) : undefined;
}

export async function migrationById(db: Queryable, id: string): Promise<MigrationRow | undefined> {
  const { rows } = await db.query(`SELECT ${MIGRATION_COLUMNS} FROM bbm.migrations WHERE id = $1`, [id]);
  return rows[0] ? toMigration(rows[0]) : undefined;
}

/** The migration a job belongs to, locked. bbm always locks a migration before its jobs, so its transactions never deadlock. */
export async function lockMigrationOfJob(db: Queryable, jobId: string): Promise<MigrationRow | undefined> {
  const { rows } = await db.query(
    `SELECT ${MIGRATION_COLUMNS} FROM bbm.migrations WHERE id = (SELECT migration_id FROM bbm.jobs WHERE id = $1) FOR UPDATE`,
    [jobId],
  );
  return rows[0] ? toMigration(rows[0]) : undefined;
}

export async function listMigrations(db: Queryable, filter: { repository?: string } = {}): Promise<MigrationRow[]> {
  const { rows } = await db.query(
    `SELECT ${MIGRATION_COLUMNS} FROM bbm.migrations WHERE ($1::text IS NULL OR repository = $1) ORDER BY id`,
    [filter.repository ?? null],
  );
  return rows.map(toMigration);
}

/** The next failed migration of a repository, locked; `exclude` skips ones already given up on in this run. */
export async function lockNextFailed(db: Queryable, repository: string, exclude: string[]): Promise<MigrationRow | undefined> {
  const { rows } = await db.query(
    `SELECT ${MIGRATION_COLUMNS} FROM bbm.migrations
      WHERE repository = $1 AND status = ${MigrationStatus.FAILED} AND NOT (id = ANY($2::bigint[]))
      ORDER BY id LIMIT 1 FOR UPDATE`,
    [repository, exclude],
  );
  return rows[0] ? toMigration(rows[0]) : undefined;
}

/** Running before active, lowest id first (the anchor's order); paused ones are never picked. */
export async function lockNextRunnable(db: Queryable, repository: string, exclude: string[]): Promise<MigrationRow | undefined> {
  const { rows } = await db.query(
    `SELECT ${MIGRATION_COLUMNS} FROM bbm.migrations
      WHERE repository = $1 AND status IN (${MigrationStatus.RUNNING}, ${MigrationStatus.ACTIVE}) AND NOT (id = ANY($2::bigint[]))
      ORDER BY (status = ${MigrationStatus.RUNNING}) DESC, id LIMIT 1 FOR UPDATE`,
    [repository, exclude],
  );
  return rows[0] ? toMigration(rows[0]) : undefined;
}

/** Move to `status`; finished/failed stamp finished_at, running stamps started_at once. */
export async function setMigrationStatus(
  db: Queryable,
  id: string,
  status: MigrationStatus,
  failureCode: number | null = null,
): Promise<void> {
  await db.query(
    `UPDATE bbm.migrations SET status = $2::smallint, failure_error_code = $3::smallint, updated_at = now(),
       started_at = CASE WHEN $2::smallint = ${MigrationStatus.RUNNING} THEN coalesce(started_at, now()) ELSE started_at END,
       finished_at = CASE WHEN $2::smallint IN (${MigrationStatus.FINISHED}, ${MigrationStatus.FAILED}) THEN now() ELSE NULL END
     WHERE id = $1`,
    [id, status, failureCode],
  );
}

/** Count a finished job (its rows and id span); returns the updated migration (saves a re-read for progress). */
export async function countFinishedJob(db: Queryable, id: string, rows: bigint, coveredIds: bigint): Promise<MigrationRow> {
  const result = await db.query(
    `UPDATE bbm.migrations SET rows_processed = rows_processed + $2::bigint, jobs_finished = jobs_finished + 1, covered_ids = covered_ids + $3::numeric, updated_at = now()
      WHERE id = $1 RETURNING ${MIGRATION_COLUMNS}`,
    [id, rows, coveredIds],
  );
  return toMigration(result.rows[0]);
}

/** Some paused migration of the repository (or of all) was paused by a cancel (pause_reason 'cancel'). */
export async function hasCancelPauses(db: Queryable, repository: string | undefined): Promise<boolean> {
  const { rows } = await db.query(
    `SELECT 1 FROM bbm.migrations WHERE ($1::text IS NULL OR repository = $1) AND status = $2 AND pause_reason = 'cancel' LIMIT 1`,
    [repository ?? null, MigrationStatus.PAUSED],
  );
  return rows.length > 0;
}

/**
 * Bulk status change for pause/resume: only rows currently in `from` move, and the names of the
 * ones that moved come back (so callers can report exactly what changed). `pausedByCancel` marks
 * a pause as the cancel's (pause_reason 'cancel'); as a filter (`filter.pausedByCancel`) it moves
 * only the rows the cancel paused. Every transition sets pause_reason anew (NULL unless marked).
 * `claimCancelPauses` (an operator's pause) also takes the rows a cancel paused, making their
 * pause the operator's (reason cleared), so resuming the repository leaves them paused.
 */
export async function transitionMigrations(
  db: Queryable,
  filter: { repository?: string; name?: string; pausedByCancel?: boolean },
  from: MigrationStatus[],
  to: MigrationStatus,
  mark: { pausedByCancel?: boolean; claimCancelPauses?: boolean } = {},
): Promise<string[]> {
  const { rows } = await db.query(
    `UPDATE bbm.migrations SET status = $4, failure_error_code = NULL, pause_requested = false, updated_at = now(),
            pause_reason = CASE WHEN $5 THEN 'cancel' END
      WHERE ($1::text IS NULL OR repository = $1) AND ($2::text IS NULL OR name = $2)
        AND (status = ANY($3::smallint[]) OR ($7 AND status = $4 AND pause_reason = 'cancel'))
        AND (NOT $6 OR pause_reason = 'cancel')
      RETURNING name`,
    [
      filter.repository ?? null,
      filter.name ?? null,
      from,
      to,
      mark.pausedByCancel === true,
      filter.pausedByCancel === true,
      mark.claimCancelPauses === true,
    ],
  );
  return rows.map((r) => String(r.name)).sort();
}
