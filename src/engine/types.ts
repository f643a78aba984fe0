/**
 * Plain data that crosses the activity boundary (JSON in Temporal history). Pure types only:
 * workflow code imports this module.
 */

export interface FenceToken {
  repository: string;
  holder: string;
  token: number;
}

/** A job ready to run, with what logs and the UI need to describe it. */
export interface JobDescriptor {
  jobId: number;
  migrationId: number;
  migrationName: string;
  repository: string;
  workName: string;
  table: string;
  column: string;
  strategy: string;
  start: number | null;
  end: number | null;
  batchSize: number;
  /** Attempts already stored before this run of the job. */
  attempts: number;
}

export interface MigrationRef {
  id: number;
  name: string;
  /** Failure code name when the migration failed (e.g. "invalid_table", "max_job_retry"). */
  failure?: string | null;
}

export interface MigrationProgress {
  id: number;
  name: string;
  repository: string;
  status: string;
  failure: string | null;
  /** 0..100; capped at 99.9 until the migration is finished. */
  percent: number;
  rowsProcessed: number;
  totalEstimate: number | null;
  jobs: { active: number; finished: number; failed: number };
  /** The latest job's range; `cursor`: the last id its committed sub-batches reached (decimal string). */
  currentRange: { start: number | null; end: number | null; cursor?: string | null } | null;
  /** Rows per second since the migration started running. */
  rowsPerSecond: number | null;
  etaSeconds: number | null;
  batchSize: number;
  /** Rows per sub-batch; null: each job is one transaction. */
  subBatchSize: number | null;
  subBatchPauseMs: number;
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
  rows: number;
  durationMs: number;
  attempts: number;
  progress: MigrationProgress | null;
}
