import { insertNextRange } from '../store/hot-path';
import type { JobRow, MigrationRow, Queryable } from '../store/types';
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
 * The common case of findJob, done by executeJob right after a serial-strategy job finished, in
 * its transaction: the next range of the same migration, inserted exactly as findJob would
 * (src/store/hot-path.ts insertNextRange lists when that is). Null in every other case (another
 * strategy, the last range, a job to resume or retry, a migration that precedes, a target that
 * changed), and the workflow calls findJob, which handles them all. Since the job is inserted in
 * the same transaction as the one before it commits, the ranges still tile min..max: a rollback
 * (failure, lost fence, cancellation) takes the insert with it, and a job inserted but not yet run
 * is active, which findJob picks first.
 */
export async function findAhead(
  db: Queryable,
  done: { migration: MigrationRow; job: JobRow; table: QualifiedName },
  input: FindAheadInput,
): Promise<JobDescriptor | null> {
  const { migration, job } = done;
  if (migration.batchingStrategy !== BatchingStrategy.SERIAL || migration.status !== MigrationStatus.RUNNING) return null;
  if (job.maxValue === null || migration.maxValue === null) return null;
  const step = nextRange(migration.minValue, migration.maxValue, job.maxValue, migration.batchSize);
  if (!step) return null;
  const next = await insertNextRange(db, {
    migration,
    table: done.table,
    jobId: job.id,
    start: step.start,
    end: step.end,
    lookup: step.lookup,
    exclude: input.exclude,
  });
  return next ? describeJob(migration, next) : null;
}
