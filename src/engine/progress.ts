import { migrationById } from '../store/migrations';
import { migrationsWithJobs } from '../store/progress';
import { jobCounts, type JobCounts } from '../store/jobs';
import type { MigrationRow, Queryable } from '../store/types';
import { failureCodeName, isRangeStrategy, MigrationStatus, migrationStatusName } from './constants';
import { decimal } from './int8';
import { coverage } from './range';
import type { MigrationProgress } from './types';

/**
 * Progress as the anchor defines it (capped at 99.9 % until finished), plus rate and ETA. Counts
 * and bounds come out as decimal strings; the percentage, rate and ETA are floats computed from
 * them for display only.
 */
export async function migrationProgress(db: Queryable, migration: MigrationRow | string): Promise<MigrationProgress | null> {
  const m = typeof migration === 'string' ? await migrationById(db, migration) : migration;
  if (!m) return null;
  return progressOf(m, await jobCounts(db, m.id));
}

/**
 * The same from a migration row and its job counts already read (src/store/progress.ts reads
 * both for many migrations in one statement). Pure; rate and ETA are measured up to `now`.
 */
export function progressOf(m: MigrationRow, counts: JobCounts, now: Date = new Date()): MigrationProgress {
  const finished = m.status === MigrationStatus.FINISHED;
  let fraction: number;
  if (isRangeStrategy(m.batchingStrategy) && m.maxValue !== null) {
    // Range coverage is exact whatever the planner statistics say.
    fraction = coverage(m.coveredIds, m.minValue, m.maxValue);
  } else {
    fraction = m.totalTupleCount ? Number(m.rowsProcessed) / Number(m.totalTupleCount) : 0;
  }
  const percent = finished ? 100 : Math.min(99.9, Math.round(fraction * 1000) / 10);
  const elapsedS = m.startedAt ? ((m.finishedAt ?? now).getTime() - m.startedAt.getTime()) / 1000 : 0;
  const rowsPerSecond = elapsedS > 0 ? Math.round((Number(m.rowsProcessed) / elapsedS) * 10) / 10 : null;
  let etaSeconds: number | null = null;
  if (finished) etaSeconds = 0;
  else if (fraction > 0 && elapsedS > 0 && m.status === MigrationStatus.RUNNING)
    etaSeconds = Math.round((elapsedS * (1 - fraction)) / fraction);
  return {
    id: m.id,
    name: m.name,
    repository: m.repository,
    status: migrationStatusName(m.status),
    failure: failureCodeName(m.failureErrorCode),
    percent,
    rowsProcessed: decimal(m.rowsProcessed),
    totalEstimate: decimal(m.totalTupleCount),
    jobs: { active: counts.active, finished: m.jobsFinished, failed: counts.failed },
    currentRange: counts.lastRange,
    lastError: counts.lastError,
    rowsPerSecond,
    etaSeconds,
    batchSize: m.batchSize,
    subBatchSize: m.subBatchSize,
    subBatchPauseMs: m.subBatchPauseMs,
    targetJobMs: m.targetJobMs,
    minBatchSize: m.minBatchSize,
    maxBatchSize: m.maxBatchSize,
    startedAt: m.startedAt?.toISOString() ?? null,
    finishedAt: m.finishedAt?.toISOString() ?? null,
  };
}

/**
 * Every selected migration (one by name, a repository's, or all; oldest first) with its
 * progress, read in one statement. What the CLI's status views and the repository workflow's
 * progress activity show.
 */
export async function migrationsProgress(
  db: Queryable,
  filter: { name?: string; repository?: string } = {},
): Promise<Array<{ migration: MigrationRow; progress: MigrationProgress }>> {
  const now = new Date();
  return (await migrationsWithJobs(db, filter)).map(({ migration, jobs }) => ({ migration, progress: progressOf(migration, jobs, now) }));
}
