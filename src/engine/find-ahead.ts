import type { NextRange } from '../store/hot-path';
import type { JobRow, MigrationRow } from '../store/types';
import { BatchingStrategy, MigrationStatus } from './constants';
import { describeJob } from './find-job';
import type { QualifiedName } from './identifiers';
import { nextRange } from './range';
import type { JobDescriptor } from './types';

/** What executeJob needs to find the next job in the job's own transaction. */
export interface FindAheadInput {
  /** Ids of migrations passed over in this run (findJob's `exclude`), as decimal strings. */
  exclude: string[];
  /** The lease's lifetime from now, as findJob's `leaseTtlMs`: find-ahead takes find's place, renewal included. */
  leaseTtlMs: number;
}

/**
 * The common case of findJob, done by executeJob as part of the statement that finishes a
 * serial-strategy job: the next range of the same migration, inserted exactly as findJob would
 * (src/store/hot-path.ts nextRangeSql lists when that is). Here: where that range would lie, or
 * undefined when find-ahead does not apply (another strategy, a migration not running, the last
 * range), and the workflow calls findJob, which handles every case. The job is inserted in the
 * transaction of the one before it, so the ranges still tile min..max: a rollback (failure, lost
 * fence, cancellation) takes the insert with it, and a job inserted but not yet run is active,
 * which findJob picks first.
 */
export function nextRangeAfter(
  done: { migration: MigrationRow; job: JobRow; table: QualifiedName },
  input: FindAheadInput,
): NextRange | undefined {
  const { migration, job } = done;
  if (migration.batchingStrategy !== BatchingStrategy.SERIAL || migration.status !== MigrationStatus.RUNNING) return undefined;
  if (job.maxValue === null || migration.maxValue === null) return undefined;
  const step = nextRange(migration.minValue, migration.maxValue, job.maxValue, migration.batchSize);
  if (!step) return undefined;
  return { migration, table: done.table, jobId: job.id, start: step.start, end: step.end, lookup: step.lookup, exclude: input.exclude };
}

/** The descriptor of the job find-ahead inserted (null: none, call findJob). */
export function aheadDescriptor(migration: MigrationRow, next: JobRow | undefined): JobDescriptor | null {
  return next ? describeJob(migration, next) : null;
}
