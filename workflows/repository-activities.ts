import { ActivityCancellationType, proxyActivities, proxyLocalActivities, type RetryPolicy } from '@temporalio/workflow';
import type { AuditActivities } from '../activities/audit';
import type { EnqueuerActivities } from '../activities/enqueuer';
import type { HealthActivities } from '../activities/health';
import type { RepositoryActivities } from '../activities/repository';
import type { FindAheadInput } from '../src/engine/find-ahead';
import type { ExecuteJobResult, FenceToken, JobDescriptor } from '../src/engine/types';
import type { Knobs } from '../src/knobs';

/**
 * Every activity the repository workflow calls, with its timeouts and retries, in one place.
 *
 * Bookkeeping is idempotent or fenced, so it retries until it passes: a database that is down
 * only delays it. A lost connection is retried after the short delay the activity itself asks
 * for (activities/failures.ts), whatever this backoff has reached, so a batch resumes within
 * seconds of the database's return; the cap here bounds every other transient failure.
 */
const BOOKKEEPING_RETRY: RetryPolicy = { initialInterval: '500ms', backoffCoefficient: 2, maximumInterval: '10s' };
// Short timeouts: these are quick queries, and a killed worker must not hold a repository for long.
export const bookkeeping = proxyActivities<RepositoryActivities>({ startToCloseTimeout: '15 seconds', retry: BOOKKEEPING_RETRY });
const localBookkeeping = proxyLocalActivities<RepositoryActivities>({ startToCloseTimeout: '15 seconds', retry: BOOKKEEPING_RETRY });

/** The hot-path activities (find, release) in the kind the knobs ask for. */
export function hot(knobs: Knobs): RepositoryActivities {
  return knobs.localActivities ? localBookkeeping : bookkeeping;
}

const healthCheck = proxyActivities<HealthActivities>({ startToCloseTimeout: '15 seconds', retry: BOOKKEEPING_RETRY });
const localHealthCheck = proxyLocalActivities<HealthActivities>({ startToCloseTimeout: '15 seconds', retry: BOOKKEEPING_RETRY });

/**
 * The health check before jobs and the throttled-time metric, in the kind the knobs ask for (a
 * local activity costs ~1.7 ms, which is why the workflow checks once per healthCheckIntervalMs
 * of work and not before every job). Retried like bookkeeping: a database that is down only delays it.
 */
export function health(knobs: Knobs): HealthActivities {
  return knobs.localActivities ? localHealthCheck : healthCheck;
}

/** The audit trail's own activity (an operator action with no database change of its own); retried like bookkeeping. */
export const auditor = proxyActivities<AuditActivities>({ startToCloseTimeout: '30 seconds', retry: BOOKKEEPING_RETRY });

/** The enqueuer is an optimisation for throughput: a few quick attempts, then the repository moves on. */
const NOTIFY_OPTIONS = { startToCloseTimeout: '5 seconds', retry: { maximumAttempts: 5 } } as const;
const notifier = proxyActivities<EnqueuerActivities>(NOTIFY_OPTIONS);
const localNotifier = proxyLocalActivities<EnqueuerActivities>(NOTIFY_OPTIONS);

/**
 * The run's bookends (its first and final progress reads, and its notice to the enqueuer) in the
 * kind the knobs ask for: local activities only when `local` is true, which the caller decides
 * with the patch `local-bookends`, so histories recorded before it replay their regular activities.
 */
export function bookends(local: boolean): {
  repositoryProgress: RepositoryActivities['repositoryProgress'];
  notifyEnqueuer: EnqueuerActivities['notifyEnqueuer'];
} {
  return local
    ? { repositoryProgress: localBookkeeping.repositoryProgress, notifyEnqueuer: localNotifier.notifyEnqueuer }
    : { repositoryProgress: bookkeeping.repositoryProgress, notifyEnqueuer: notifier.notifyEnqueuer };
}

/** Taking the lease may wait up to lockWaitTimeoutMs for another holder; a lost connection retries soon. */
export function leaseActivities(knobs: Knobs): Pick<RepositoryActivities, 'acquireLease'> {
  const retry: RetryPolicy = { initialInterval: '500ms', backoffCoefficient: 2, maximumInterval: '10s' };
  if (knobs.localActivities)
    return proxyLocalActivities<RepositoryActivities>({ startToCloseTimeout: knobs.lockWaitTimeoutMs + 30_000, retry });
  return proxyActivities<RepositoryActivities>({
    startToCloseTimeout: knobs.lockWaitTimeoutMs + 30_000,
    heartbeatTimeout: '10 seconds',
    retry,
  });
}

/**
 * Run one job. Per-job retries are this activity's retry policy: maxJobAttempts attempts, each
 * failed one recorded in the job row (the database enforces the limit, with MAX_JOB_RETRY).
 */
export function execute(
  knobs: Knobs,
  job: JobDescriptor,
  fence: FenceToken,
  batchId: string,
  findAhead?: FindAheadInput,
  /** The round will run the job found ahead: the worker may run it ahead (patch run-ahead). */
  runAhead?: { healthCheckInMs?: number },
): Promise<ExecuteJobResult> {
  const retry: RetryPolicy = {
    maximumAttempts: knobs.maxJobAttempts,
    initialInterval: '1s',
    backoffCoefficient: 2,
    maximumInterval: '30s',
  };
  const range = job.start === null ? 'next NULL rows' : `ids ${job.start}..${job.end}`;
  const args: Parameters<RepositoryActivities['executeJob']> = [
    // findAhead only when asked for: an activity of a version before it refuses unknown fields.
    {
      job,
      fence,
      maxJobAttempts: knobs.maxJobAttempts,
      jobTimeoutMs: knobs.jobTimeoutMs,
      batchId,
      ...(findAhead ? { findAhead } : {}),
      ...(runAhead ? { runAhead: true } : {}),
      ...(runAhead?.healthCheckInMs !== undefined ? { healthCheckInMs: runAhead.healthCheckInMs } : {}),
    },
  ];
  const summary = `${job.migrationName}: job ${job.jobId}, ${range}`;
  if (knobs.localActivities) {
    const { executeJob } = proxyLocalActivities<RepositoryActivities>({ startToCloseTimeout: knobs.jobTimeoutMs + 5_000, retry });
    return executeJob.executeWithOptions({ summary }, args);
  }
  const { executeJob } = proxyActivities<RepositoryActivities>({
    startToCloseTimeout: knobs.jobTimeoutMs + 5_000,
    // Heartbeats bring cancellation to the job, and let Temporal hand a dead worker's job to another quickly.
    heartbeatTimeout: Math.max(2_000, Math.min(30_000, knobs.jobTimeoutMs / 2)),
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry,
  });
  return executeJob.executeWithOptions({ summary }, args);
}

/** The lease must outlive a whole batch of slow jobs, or a healthy holder could lose it mid-batch. */
export function leaseTtl(knobs: Knobs): number {
  return knobs.jobTimeoutMs * 2 + 30_000;
}
