/**
 * Plain data that crosses the activity boundary (JSON in Temporal history). Pure types only:
 * workflow code imports this module.
 *
 * Big integers: ids, range bounds, row counts and fence tokens are **decimal strings** here
 * (Postgres bigint goes to 2^63 - 1; a JSON number is exact only to 2^53). Job counts, attempts,
 * batch sizes, durations and percentages are numbers. See src/engine/int8.ts.
 */

export interface FenceToken {
  repository: string;
  holder: string;
  /** Decimal string; grows with every acquisition. */
  token: string;
}

/** A job ready to run, with what logs and the UI need to describe it. */
export interface JobDescriptor {
  jobId: string;
  migrationId: string;
  migrationName: string;
  repository: string;
  workName: string;
  table: string;
  column: string;
  strategy: string;
  /** Inclusive range of the pagination column (serial, distinct), as decimal strings; null for the NULL strategy. */
  start: string | null;
  end: string | null;
  batchSize: number;
  /** Attempts already stored before this run of the job. */
  attempts: number;
}

export interface MigrationRef {
  id: string;
  name: string;
  /** Failure code name when the migration failed (e.g. "invalid_table", "max_job_retry"). */
  failure?: string | null;
}

export interface MigrationProgress {
  id: string;
  name: string;
  repository: string;
  status: string;
  failure: string | null;
  /** 0..100; capped at 99.9 until the migration is finished. */
  percent: number;
  /** Decimal string. */
  rowsProcessed: string;
  /** Decimal string: the planner's estimate at definition time. */
  totalEstimate: string | null;
  jobs: { active: number; finished: number; failed: number };
  /**
   * The latest job's range, as decimal strings (start and end null for the NULL strategy); null
   * before the first job. `cursor`: the last id the job's committed sub-batches reached (its end
   * once it finished in sub-batches); null when it has none: no sub-batch committed yet, a job run
   * as one transaction, or the NULL strategy.
   */
  currentRange: { start: string | null; end: string | null; cursor: string | null } | null;
  /** The newest failed job's last error (e.g. "no_progress: 1 of the job's 1 row(s) still have ..."); null when no job has failed. */
  lastError: string | null;
  /** Rows per second since the migration started running. */
  rowsPerSecond: number | null;
  etaSeconds: number | null;
  batchSize: number;
  /** Rows per sub-batch; null: each job is one transaction. */
  subBatchSize: number | null;
  subBatchPauseMs: number;
  /**
   * Adaptive batch size: `batchSize` is the tuned size the next job gets, moving toward
   * `targetJobMs` per job within `minBatchSize..maxBatchSize`; targetJobMs 0: fixed. Absent from
   * progress carried by runs of versions before tuning.
   */
  targetJobMs?: number;
  minBatchSize?: number;
  maxBatchSize?: number;
  startedAt: string | null;
  finishedAt: string | null;
}

export interface FindJobResult {
  job: JobDescriptor | null;
  /** Migrations this call found to have no work left and marked finished. */
  finished: MigrationRef[];
  /** Migrations this call marked failed (invalid table/column/strategy, retries exhausted). */
  failed: MigrationRef[];
}

export interface ExecuteJobResult {
  /**
   * `partial`: a job in sub-batches stopped at its time budget with its cursor kept; the next
   * find hands it out again and it continues after the cursor.
   */
  outcome: 'finished' | 'already_finished' | 'skipped' | 'partial';
  /** Why a job was skipped (its migration was paused or is no longer runnable) or is partial. */
  reason?: string;
  /**
   * Skipped because a pause is on its way to the workflow (src/store/pause-requests.ts): the job
   * stopped before its next sub-batch, cursor kept. The workflow ends the batch and applies it.
   */
  pauseRequested?: boolean;
  /** Rows the work function changed, as a decimal string. */
  rows: string;
  /** The work's time, ms (what the batch tuner and the health-check interval count). */
  durationMs: number;
  /**
   * The whole attempt's wall time in the worker, ms: connection, bookkeeping, work and COMMIT.
   * Set by the executeJob activity (absent from results recorded before it was added); the
   * workflow counts it to yield long runs of local activities (workflows/repository-round.ts).
   */
  elapsedMs?: number;
  attempts: number;
  progress: MigrationProgress | null;
  /**
   * Only when the caller asked for find-ahead and the job finished: the next job, already found
   * and inserted in the job's transaction, or null when the caller must call findJob.
   */
  next?: JobDescriptor | null;
}
