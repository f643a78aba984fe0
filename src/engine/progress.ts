import { migrationById } from '../store/migrations';
import { jobCounts } from '../store/jobs';
import type { MigrationRow, Queryable } from '../store/types';
import { BatchingStrategy, failureCodeName, MigrationStatus, migrationStatusName } from './constants';
import type { MigrationProgress } from './types';

/** Progress as the anchor defines it (capped at 99.9 % until finished), plus rate and ETA. */
export async function migrationProgress(db: Queryable, migration: MigrationRow | number): Promise<MigrationProgress | null> {
  const m = typeof migration === 'number' ? await migrationById(db, migration) : migration;
  if (!m) return null;
  const counts = await jobCounts(db, m.id);
  const finished = m.status === MigrationStatus.FINISHED;
  let fraction: number;
  if (m.batchingStrategy === BatchingStrategy.SERIAL && m.maxValue !== null) {
    // Id-space coverage is exact whatever the planner statistics say.
    fraction = m.coveredIds / Math.max(1, m.maxValue - m.minValue + 1);
  } else {
    fraction = m.totalTupleCount ? m.rowsProcessed / m.totalTupleCount : 0;
  }
  const percent = finished ? 100 : Math.min(99.9, Math.round(fraction * 1000) / 10);
  const elapsedS = m.startedAt ? ((m.finishedAt ?? new Date()).getTime() - m.startedAt.getTime()) / 1000 : 0;
  const rowsPerSecond = elapsedS > 0 ? Math.round((m.rowsProcessed / elapsedS) * 10) / 10 : null;
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
    rowsProcessed: m.rowsProcessed,
    totalEstimate: m.totalTupleCount,
    jobs: { active: counts.active, finished: m.jobsFinished, failed: counts.failed },
    currentRange: counts.lastRange,
    rowsPerSecond,
    etaSeconds,
    batchSize: m.batchSize,
    subBatchSize: m.subBatchSize,
    subBatchPauseMs: m.subBatchPauseMs,
    startedAt: m.startedAt?.toISOString() ?? null,
    finishedAt: m.finishedAt?.toISOString() ?? null,
  };
}
