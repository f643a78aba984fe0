import { leaseLost } from '../errors';
import type { TunedSize } from './batch-tuning';
import { finishJob, type NextRange, type RunAheadClaim } from '../store/hot-path';
import type { JobRow, MigrationRow, Queryable } from '../store/types';
import { BatchingStrategy, isRangeStrategy, MigrationStatus } from './constants';
import { describeJob } from './find-job';
import type { QualifiedName } from './identifiers';
import { decimal } from './int8';
import { progressOf } from './progress';
import { nextRange, span } from './range';
import type { ExecuteJobResult, FenceToken } from './types';

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
function nextRangeAfter(
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

/**
 * A whole job's (no sub-batches) closing statement, (b): the outcome recorded, progress counted,
 * the tuner's decision (`done.tuned`, with `done.migration.batchSize` already the tuned size) stored,
 * the fence confirmed and locked until COMMIT, and with `input.findAhead` the next job inserted
 * and the lease extended. Throws LEASE_LOST when the fence no longer holds (the caller rolls back).
 */
export async function finishWholeJob(
  db: Queryable,
  done: { migration: MigrationRow; job: JobRow; table: QualifiedName; tuned?: TunedSize },
  input: { fence?: FenceToken; findAhead?: FindAheadInput; claim?: RunAheadClaim },
  rows: bigint,
  durationMs: number,
): Promise<ExecuteJobResult> {
  const { migration, job } = done;
  const covered =
    isRangeStrategy(migration.batchingStrategy) && job.minValue !== null && job.maxValue !== null ? span(job.minValue, job.maxValue) : 0n;
  const ahead = input.findAhead ? nextRangeAfter(done, input.findAhead) : undefined;
  const finished = await finishJob(
    db,
    {
      jobId: job.id,
      migrationId: migration.id,
      rows,
      durationMs,
      coveredIds: covered,
      tuned: done.tuned,
      fence: input.fence,
      leaseTtlMs: input.findAhead?.leaseTtlMs,
      claim: input.claim,
    },
    ahead,
  );
  if (input.fence && !finished.fenced) throw leaseLost(input.fence);
  const result: ExecuteJobResult = {
    outcome: 'finished',
    rows: decimal(rows),
    durationMs,
    attempts: job.attempts + 1,
    progress: progressOf(finished.migration, finished.counts),
  };
  if (input.findAhead) result.next = finished.next ? describeJob(finished.migration, finished.next) : null;
  return result;
}
