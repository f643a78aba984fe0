import { condition, isCancellation, log, patched, workflowInfo } from '@temporalio/workflow';
import { failureMessage, failureType } from '../src/contract/failures';
import type { CheckHealthResult } from '../src/health/check';
import { describeTripped } from '../src/health/format';
import type { HealthVerdict } from '../src/health/indicators';
import { PATCHES } from './patches';
import { health } from './repository-activities';
import type { RepositoryRun } from './repository-state';

/** The first re-check while throttled never comes sooner than this, even with healthCheckIntervalMs 0. */
const MIN_RECHECK_MS = 100;

/**
 * Health checking before jobs (issue 11). A check is due before the first job of a run, and then
 * whenever the job time plus the pauses between batches since the last check reaches
 * healthCheckIntervalMs: job durations come from activity results, so the schedule replays
 * deterministically, and a check (a local activity, ~1.7 ms) costs a fraction of a millisecond
 * per job at the default interval instead of running before every job.
 */
export function healthCheckDue(run: RepositoryRun): boolean {
  return run.knobs.healthChecks && run.sinceHealthCheckMs >= run.knobs.healthCheckIntervalMs && patched(PATCHES.healthThrottle);
}

/**
 * Job time (ms, floored) left before a health check falls due, or undefined with health checks
 * off. A job of at least this long makes one due before the next job: executeJob then does not
 * run that job ahead (src/engine/run-ahead.ts), whose work must wait for the check's verdict.
 */
export function healthCheckInMs(run: RepositoryRun): number | undefined {
  if (!run.knobs.healthChecks) return undefined;
  return Math.max(0, Math.floor(run.knobs.healthCheckIntervalMs - run.sinceHealthCheckMs));
}

/** Count job or pause time towards the next health check. */
export function addHealthTime(run: RepositoryRun, ms: number): void {
  run.sinceHealthCheckMs += ms;
}

/**
 * Check now. Returns the verdict, or undefined when the check itself cannot run (a non-retryable
 * failure such as a repository whose migrations vanished): a check that cannot run must not stop
 * the migrations, like an indicator that cannot be read (src/health/evaluate.ts).
 */
export async function checkHealthNow(run: RepositoryRun, fresh: boolean): Promise<CheckHealthResult | undefined> {
  try {
    const result = await health(run.knobs).checkHealth({ repository: run.repository, thresholds: run.knobs, fresh });
    run.sinceHealthCheckMs = 0;
    await countThrottledTime(run, result.readings.at);
    return result;
  } catch (err) {
    if (isCancellation(err)) throw err;
    run.sinceHealthCheckMs = 0;
    log.warn('health check failed; carrying on without it until the next one', {
      repository: run.repository,
      type: failureType(err),
      error: failureMessage(err),
    });
    return undefined;
  }
}

/**
 * Hold the jobs while `result` is unhealthy (the caller has given the lease back): state
 * `throttled` with the indicators in the detail, re-checks with a doubling wait from
 * healthCheckIntervalMs up to maxThrottleBackoffMs. Returns when every indicator is healthy
 * again, or early when a control request arrives or the history needs a continue-as-new; the
 * batch loop then applies it, and the next batch checks again before its first job.
 */
export async function waitWhileThrottled(run: RepositoryRun, result: CheckHealthResult): Promise<void> {
  let verdict: HealthVerdict | undefined = result.verdict;
  let at = result.readings.at;
  let waitMs = Math.max(MIN_RECHECK_MS, run.knobs.healthCheckIntervalMs);
  while (verdict && !verdict.healthy) {
    enterThrottle(run, verdict, at);
    const interrupted = await condition(() => run.pending.length > 0 || historyFull(run), waitMs);
    if (interrupted) {
      run.sinceHealthCheckMs = Number.POSITIVE_INFINITY; // check again before the next job
      return;
    }
    const next = await checkHealthNow(run, true);
    verdict = next?.verdict;
    at = next?.readings.at ?? at;
    waitMs = Math.min(waitMs * 2, Math.max(MIN_RECHECK_MS, run.knobs.maxThrottleBackoffMs));
  }
  leaveThrottle(run);
}

/** After a healthy check: say so once, if the jobs were held. */
export function leaveThrottle(run: RepositoryRun): void {
  if (!run.throttle) return;
  log.info('healthy again: starting jobs', { repository: run.repository, throttledSince: run.throttle.since });
  run.throttle = undefined;
}

function enterThrottle(run: RepositoryRun, verdict: HealthVerdict, at: string): void {
  const names = verdict.tripped.map((t) => t.indicator).join(', ');
  const detail = verdict.tripped.map(describeTripped).join('; ');
  // One log line per change of the indicators that hold the jobs, not per check.
  if (!run.throttle || run.throttle.tripped.map((t) => t.indicator).join(', ') !== names)
    log.warn(`throttled by ${names}: holding jobs until healthy`, { repository: run.repository, detail });
  run.throttle = { since: run.throttle?.since ?? at, at, tripped: verdict.tripped };
  run.setState('throttled', detail);
}

/** Add the time since the last reading to bbm_throttled_seconds_total of the indicators that held the jobs. */
async function countThrottledTime(run: RepositoryRun, at: string): Promise<void> {
  const throttle = run.throttle;
  if (!throttle) return;
  const throttledMs = Date.parse(at) - Date.parse(throttle.at);
  throttle.at = at;
  if (!(throttledMs > 0)) return;
  try {
    await health(run.knobs).recordThrottled({
      repository: run.repository,
      indicators: throttle.tripped.map((t) => t.indicator),
      throttledMs: Math.round(throttledMs),
    });
  } catch (err) {
    if (isCancellation(err)) throw err;
    log.warn('could not count throttled time', { repository: run.repository, error: failureMessage(err) });
  }
}

function historyFull(run: RepositoryRun): boolean {
  const info = workflowInfo();
  return info.continueAsNewSuggested || info.historyLength > run.knobs.historyEventBudget;
}
