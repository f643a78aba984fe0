/**
 * Status and failure codes stored in bbm.migrations / bbm.jobs. The numbers match the anchor
 * system so data and dashboards translate one to one. Pure module: workflows import it too.
 */

export const MigrationStatus = Object.freeze({ PAUSED: 0, ACTIVE: 1, FINISHED: 2, FAILED: 3, RUNNING: 4 } as const);
export type MigrationStatus = (typeof MigrationStatus)[keyof typeof MigrationStatus];

/** Jobs use the active / finished / failed subset. */
export const JobStatus = Object.freeze({ ACTIVE: 1, FINISHED: 2, FAILED: 3 } as const);
export type JobStatus = (typeof JobStatus)[keyof typeof JobStatus];

export const FailureCode = Object.freeze({
  /** The work function threw. */
  UNKNOWN: 0,
  INVALID_TABLE: 1,
  INVALID_COLUMN: 2,
  /**
   * The anchor's code for an unregistered work function, kept for its numbering; bbm never stores it:
   * a definition naming one is refused (error INVALID_JOB_SIGNATURE), and a worker without it waits
   * (WORK_FUNCTION_NOT_FOUND) instead of failing the migration.
   */
  INVALID_JOB_SIGNATURE: 3,
  MAX_JOB_RETRY: 4,
  INVALID_BATCHING_STRATEGY: 5,
  /** A NULL-strategy job left some of its rows NULL (a job's failure; bbm's own, not the anchor's). */
  NO_PROGRESS: 6,
} as const);
export type FailureCode = (typeof FailureCode)[keyof typeof FailureCode];

export const BatchingStrategy = Object.freeze({
  /** Jobs cover consecutive ranges of a unique integer column, each holding at most batch_size rows. */
  SERIAL: 'serial',
  /** Each job updates the next batch_size rows where the column IS NULL, until none is left. */
  NULL_ROWS: 'null',
  /**
   * Jobs cover consecutive ranges of a non-unique integer column, each holding at most
   * batch_size distinct values (any number of rows), found with a loose index scan.
   */
  DISTINCT: 'distinct',
} as const);
export type BatchingStrategy = (typeof BatchingStrategy)[keyof typeof BatchingStrategy];

/** Strategies whose jobs are ranges [min_value, max_value] of the column. */
export function isRangeStrategy(strategy: string): strategy is 'serial' | 'distinct' {
  return strategy === BatchingStrategy.SERIAL || strategy === BatchingStrategy.DISTINCT;
}

export function isKnownStrategy(strategy: string): strategy is BatchingStrategy {
  return isRangeStrategy(strategy) || strategy === BatchingStrategy.NULL_ROWS;
}

export const MIGRATION_STATUS_NAMES: Readonly<Record<number, string>> = Object.freeze({
  0: 'paused',
  1: 'active',
  2: 'finished',
  3: 'failed',
  4: 'running',
});
export const JOB_STATUS_NAMES: Readonly<Record<number, string>> = Object.freeze({ 1: 'active', 2: 'finished', 3: 'failed' });
export const FAILURE_CODE_NAMES: Readonly<Record<number, string>> = Object.freeze({
  0: 'unknown',
  1: 'invalid_table',
  2: 'invalid_column',
  3: 'invalid_job_signature',
  4: 'max_job_retry',
  5: 'invalid_batching_strategy',
  6: 'no_progress',
});

export function migrationStatusName(status: number): string {
  return MIGRATION_STATUS_NAMES[status] ?? `unknown(${status})`;
}

export function failureCodeName(code: number | null | undefined): string | null {
  return code === null || code === undefined ? null : (FAILURE_CODE_NAMES[code] ?? `unknown(${code})`);
}

/** Limits a definition must respect; also enforced by the runtime-update validator. */
export const LIMITS = Object.freeze({
  MIN_BATCH_SIZE: 1,
  MAX_BATCH_SIZE: 1_000_000,
  MIN_JOB_ATTEMPTS: 1,
  MAX_JOB_ATTEMPTS: 10,
});
