import type { Pool, PoolClient } from 'pg';

/** Anything that can run a query: the pool, or a client inside a transaction. */
export type Queryable = Pick<Pool | PoolClient, 'query'>;

export interface MigrationRow {
  id: number;
  name: string;
  repository: string;
  jobName: string;
  tableName: string;
  columnName: string;
  workArgs: Record<string, unknown>;
  minValue: number;
  maxValue: number | null;
  batchSize: number;
  /** Rows per sub-batch; null: each job is one transaction. See src/contract/sub-batches.ts. */
  subBatchSize: number | null;
  /** Sleep between two sub-batches of a job, ms. */
  subBatchPauseMs: number;
  batchingStrategy: string;
  status: number;
  failureErrorCode: number | null;
  totalTupleCount: number | null;
  rowsProcessed: number;
  /** Finished jobs, and the id span they cover (serial), counted as jobs finish. */
  jobsFinished: number;
  coveredIds: number;
  createdAt: Date;
  updatedAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
}

export interface JobRow {
  id: number;
  migrationId: number;
  minValue: number | null;
  maxValue: number | null;
  status: number;
  attempts: number;
  /** Attempts at the last retry; the attempt limit applies to attempts - retryBase. */
  retryBase: number;
  failureErrorCode: number | null;
  lastError: string | null;
  rowsAffected: number;
  /**
   * Serial strategy: the last id whose sub-batch has committed (decimal string: a Postgres
   * bigint), null before the first. A retry starts after it.
   */
  cursorId: string | null;
  /** Sub-batches committed over all attempts. */
  subBatches: number;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  durationMs: number | null;
}

/** int8 arrives as a string from node-postgres; bbm's ids and counts fit in a double. */
export function num(value: unknown): number {
  return typeof value === 'number' ? value : Number(value);
}

export function numOrNull(value: unknown): number | null {
  return value === null || value === undefined ? null : num(value);
}
