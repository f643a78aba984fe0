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
  currentRange: { start: number | null; end: number | null } | null;
  /** Rows per second since the migration started running. */
  rowsPerSecond: number | null;
  etaSeconds: number | null;
  batchSize: number;
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
  outcome: 'finished' | 'already_finished' | 'skipped';
  /** Why a job was skipped (its migration was paused or is no longer runnable). */
  reason?: string;
  rows: number;
  durationMs: number;
  attempts: number;
  progress: MigrationProgress | null;
}
