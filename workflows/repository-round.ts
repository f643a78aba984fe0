import { CancellationScope, condition, isCancellation, log, patched, sleep, workflowInfo } from '@temporalio/workflow';
import type { FenceToken, FindJobResult, JobDescriptor } from '../src/engine/types';
import { ErrorCode } from '../src/errors';
import { failureMessage, failureType, isStaleFailure, jobFailureOutcome } from '../src/contract/failures';
import { PATCHES } from './patches';
import type { CheckHealthResult } from '../src/health/check';
import { execute, hot, leaseTtl, leaseActivities } from './repository-activities';
import { addHealthTime, checkHealthNow, healthCheckDue, healthCheckInMs, leaveThrottle, waitWhileThrottled } from './repository-health';
import type { RepositoryRun } from './repository-state';

/** How long to wait before trying again when this worker lacks the work function (a rolling deploy). */
const WORK_FUNCTION_WAIT_MS = 30_000;
/** How long to back off after a job's retries ran out on a transient problem. */
const RETRY_LATER_MS = 10_000;
/**
 * Local activities run back to back inside one workflow task, so a terminate or a cancel reaches
 * the worker only when that task ends. After this much time the round yields a workflow task
 * (a 1 ms timer): the worker hears of a terminate within about this long plus the job in flight,
 * which its cancellation rolls back. One extra task per 2 s at most. Before the patch
 * local-yield-wall this counted the work's time only, so rounds of short jobs never yielded and
 * the SDK warned of workflow tasks past 5 s; now each job's wall time in the worker counts, plus
 * LOCAL_ACTIVITY_ALLOWANCE_MS for what the worker does around it (the find, the local activity's
 * round trip through the workflow), which the activity cannot see.
 */
const LOCAL_YIELD_AFTER_MS = 2_000;
/** Per job, on top of its wall time in the activity: measured ~3.5 ms per no-op job on a loaded 2-core machine (npm run bench). */
const LOCAL_ACTIVITY_ALLOWANCE_MS = 5;

/**
 * One round, the anchor's loop body (its "batch"): take the lease -> up to maxJobPerBatch x (find -> execute)
 * -> release -> jittered durable sleep. A control request ends the round early and cuts the sleep
 * short. What the workflow carried (a job, the fence) that the database no longer has is dropped,
 * and the next find starts from what the database says.
 */
export async function runRound(run: RepositoryRun): Promise<void> {
  run.setState('running');
  const fence = await takeLease(run);
  if (!fence) return;
  run.fence = fence;
  const batchId = run.roundId();
  let jobMs = 0;
  // Carried from the round before when no pause ended the workflow task in between (local-yield-wall).
  let sinceYieldMs = run.localTaskMs;
  let wallYield = false;
  let waitMs = 0;
  // Find-ahead: execute also finds the next job in its transaction, so in the common case a job
  // costs one activity. A job found ahead but not run (the round ends, the lease is lost) stays
  // active in the database, where the next find picks it first.
  const findAhead = patched(PATCHES.findAhead);
  // Run-ahead: the worker may do the job found ahead's SQL during this round trip, if the round will come for it.
  const runAhead = findAhead && patched(PATCHES.runAhead);
  let ahead: JobDescriptor | null = null;
  let unhealthy: CheckHealthResult | undefined;
  for (let i = 0; i < run.knobs.maxJobPerBatch && run.pending.length === 0 && jobMs < run.knobs.maxBatchTimeoutMs; i++) {
    let job = run.retryFailed ? null : ahead;
    ahead = null;
    if (!job) {
      const found = await find(run, fence);
      if (!found) break; // the lease is gone: take it again
      if (!found.job) {
        run.drained = true;
        break;
      }
      job = found.job;
    }
    if (healthCheckDue(run)) {
      const checked = await checkHealthNow(run, false);
      if (checked && !checked.verdict.healthy) {
        // The found job stays in the database as it is; the next find returns it again.
        unhealthy = checked;
        break;
      }
      leaveThrottle(run);
    }
    try {
      const result = await execute(
        run.knobs,
        job,
        fence,
        batchId,
        findAhead ? { exclude: [...run.failed], leaseTtlMs: leaseTtl(run.knobs) } : undefined,
        runAhead && i + 1 < run.knobs.maxJobPerBatch ? { healthCheckInMs: healthCheckInMs(run) } : undefined,
      );
      ahead = result.next ?? null;
      jobMs += result.durationMs;
      addHealthTime(run, result.durationMs);
      wallYield ||= run.knobs.localActivities && patched(PATCHES.localYieldWall);
      sinceYieldMs += wallYield ? Math.max(result.elapsedMs ?? 0, result.durationMs) + LOCAL_ACTIVITY_ALLOWANCE_MS : result.durationMs;
      run.recordExecution(result);
      // A pause is on its way (its signal was sent first): end the round so it is applied now.
      if (result.outcome === 'skipped' && result.pauseRequested) break;
      if (run.knobs.localActivities && sinceYieldMs >= LOCAL_YIELD_AFTER_MS && patched(PATCHES.localYield)) {
        sinceYieldMs = 0;
        await sleep(1);
      }
    } catch (err) {
      const next = onJobFailure(run, err, job);
      if (next === 'next_job') continue;
      waitMs = next === 'end_round' ? 0 : next.waitMs;
      break;
    }
  }
  run.totals.batches += 1;
  const { delayMs } = await hot(run.knobs).releaseLease({ fence, minDelayMs: run.knobs.minDelayMs, maxDelayMs: run.knobs.maxDelayMs });
  run.fence = undefined;
  const pause = run.drained ? 0 : Math.max(delayMs, waitMs);
  // A pause (or the throttled wait) is a timer, which ends the workflow task; without one the next round runs on in it.
  run.localTaskMs = wallYield && pause <= 0 && !unhealthy ? sinceYieldMs : 0;
  // Throttled: the lease is back, so nothing is held while the database recovers.
  if (unhealthy) return waitWhileThrottled(run, unhealthy);
  addHealthTime(run, pause);
  // A durable timer: a worker restart during the pause resumes exactly here. Control requests cut it short.
  if (pause > 0) await condition(() => run.pending.length > 0, pause);
}

/** The lease, or undefined after waiting visibly (waiting_for_lease) when another holder kept it. */
async function takeLease(run: RepositoryRun): Promise<FenceToken | undefined> {
  try {
    return await leaseActivities(run.knobs).acquireLease({
      repository: run.repository,
      // The workflow ID: any attempt or run of this workflow takes over at once, anyone else waits.
      holder: workflowInfo().workflowId,
      ttlMs: leaseTtl(run.knobs),
      waitMs: run.knobs.lockWaitTimeoutMs,
    });
  } catch (err) {
    if (failureType(err) !== ErrorCode.LOCK_TIMEOUT) throw err;
    run.setState('waiting_for_lease', failureMessage(err));
    await condition(() => run.pending.length > 0, run.knobs.lockWaitTimeoutMs);
    return undefined;
  }
}

/** The next job, or undefined when the fence is no longer the database's (taken over, or lost with a crash). */
async function find(run: RepositoryRun, fence: FenceToken): Promise<FindJobResult | undefined> {
  try {
    const found = await hot(run.knobs).findJob({
      repository: run.repository,
      fence,
      maxJobAttempts: run.knobs.maxJobAttempts,
      retryFailed: run.retryFailed,
      exclude: [...run.failed],
      leaseTtlMs: leaseTtl(run.knobs),
    });
    run.retryFailed = false;
    run.recordFind(found);
    return found;
  } catch (err) {
    if (!isStaleFailure(failureType(err))) throw err;
    log.warn('the lease is no longer ours in the database; taking it again', { repository: run.repository, error: failureMessage(err) });
    return undefined;
  }
}

type AfterFailure = 'next_job' | 'end_round' | { waitMs: number };

/** Decide what follows a job that did not complete (see jobFailureOutcome in src/contract/failures). */
function onJobFailure(run: RepositoryRun, err: unknown, job: JobDescriptor): AfterFailure {
  if (isCancellation(err)) throw err;
  // The job rolled back because this workflow is being cancelled: end the round; the next
  // activity call meets the cancellation and the workflow's cancellation path takes over.
  if (CancellationScope.current().consideredCancelled) return 'end_round';
  const type = failureType(err);
  const message = failureMessage(err);
  let outcome = jobFailureOutcome(type);
  // Versions before the patch backed off 10 s after a job lost its database.
  if (outcome === 'find_again' && type === ErrorCode.CANNOT_CONNECT && !patched(PATCHES.findAgainWhenDatabaseLost)) outcome = 'retry_later';
  switch (outcome) {
    case 'migration_failed':
      run.migrationFailed(job.migrationId, job.migrationName);
      log.warn('migration failed: job attempts exhausted', { repository: run.repository, migration: job.migrationName, job: job.jobId });
      return 'next_job';
    case 'find_again':
      log.warn('dropping a job the database no longer backs; finding again', { repository: run.repository, job: job.jobId, type, message });
      // A vanished job: the lease still holds, find the next one. A lost lease or database: take the lease again.
      return type === ErrorCode.STALE_STATE ? 'next_job' : 'end_round';
    case 'wait_for_work_function':
      run.setState('waiting_for_work_function', message);
      return { waitMs: WORK_FUNCTION_WAIT_MS };
    case 'fatal':
      throw err;
    case 'retry_later':
      log.warn('job did not complete; retrying after a pause', { repository: run.repository, job: job.jobId, error: message });
      run.setState('retrying', message);
      return { waitMs: RETRY_LATER_MS };
  }
}
