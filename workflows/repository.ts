import {
  ActivityCancellationType,
  ApplicationFailure,
  CancellationScope,
  allHandlersFinished,
  condition,
  continueAsNew,
  isCancellation,
  log,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
  type RetryPolicy,
} from '@temporalio/workflow';
import type { EnqueuerActivities } from '../activities/enqueuer';
import type { RepositoryActivities } from '../activities/repository';
import { addDecimal } from '../src/engine/int8';
import type { ExecuteJobResult, FenceToken, FindJobResult, JobDescriptor, MigrationProgress } from '../src/engine/types';
import { ErrorCode, JOB_FAILING_CODES } from '../src/errors';
import { DEFAULT_KNOBS, type Knobs } from '../src/knobs';
import {
  asFailure,
  assertNoQueryArgs,
  configureProblem,
  migrationTargetProblem,
  noteIgnoredSignal,
  repositoryInputProblem,
  targetMigration,
} from '../src/contract/checks';
import {
  configureUpdate,
  pauseSignal,
  progressQuery,
  resumeSignal,
  type ConfigureRequest,
  type MigrationTarget,
  type RepositoryProgress,
  type RepositoryState,
  type RepositoryTotals,
} from '../src/contract/messages';
import { SA } from '../src/contract/search-attributes';
import type { ControlRequest, RepositorySummary, RepositoryWorkflowInput } from '../src/contract/workflows';

// Bookkeeping is idempotent or fenced, so transient failures (a Postgres restart) retry until they pass.
const BOOKKEEPING_RETRY: RetryPolicy = { initialInterval: '500ms', backoffCoefficient: 2, maximumInterval: '30s' };
// Short timeouts: these are quick queries, and a killed worker must not hold a repository for long.
const bookkeeping = proxyActivities<RepositoryActivities>({ startToCloseTimeout: '15 seconds', retry: BOOKKEEPING_RETRY });
const localBookkeeping = proxyLocalActivities<RepositoryActivities>({ startToCloseTimeout: '15 seconds', retry: BOOKKEEPING_RETRY });
/** The hot-path activities (find, release) in the kind the knobs ask for. */
function hot(knobs: Knobs): RepositoryActivities {
  return knobs.localActivities ? localBookkeeping : bookkeeping;
}
const notifier = proxyActivities<EnqueuerActivities>({ startToCloseTimeout: '5 seconds', retry: { maximumAttempts: 5 } });

/**
 * One workflow per repository (ID `bbm-repository:<key>`), so Temporal itself guarantees a single
 * runner per repository. It reproduces the anchor's batch loop: lock -> up to maxJobPerBatch x
 * (find -> execute) -> release -> jittered durable sleep, with lock, find and execute as
 * activities and per-job retries as the execute activity's retry policy. The workflow only
 * orchestrates; every decision about data lives in the engine behind the activities.
 */
export async function repositoryMigration(input: RepositoryWorkflowInput): Promise<RepositorySummary> {
  const info = workflowInfo();
  validateInput(input, info.workflowId);
  const repository = input.repository;
  let knobs: Knobs = { ...DEFAULT_KNOBS, ...input.knobs };
  const carried = input.carried;
  const totals: RepositoryTotals = carried?.totals ?? {
    jobs: 0,
    rows: '0',
    batches: 0,
    migrationsFinished: [],
    migrationsFailed: [],
    runs: 0,
  };
  totals.runs += 1;
  // String(): a run continued from an older version carried these ids as numbers.
  const failedIds = new Set<string>((carried?.failedMigrationIds ?? []).map(String));
  const pending: ControlRequest[] = [...(carried?.pending ?? [])];
  const progress = new Map<string, MigrationProgress>((carried?.progress ?? []).map((p) => [String(p.id), p]));
  let retryFailed = input.retryFailed ?? false;
  let state: RepositoryState = 'starting';
  let detail: string | null = null;
  let fence: FenceToken | undefined;
  let startedAt = carried?.startedAt;

  // Signals have no validator, so a malformed one is ignored (and logged) rather than guessed at:
  // a typo must never pause a whole repository or fail its workflow.
  setHandler(pauseSignal, (target?: MigrationTarget) => {
    const request = controlRequest('pause', target, totals);
    if (!request) return;
    pending.push(request);
    state = 'pausing';
  });
  setHandler(resumeSignal, (target?: MigrationTarget) => {
    const request = controlRequest('resume', target, totals);
    if (request) pending.push(request);
  });
  setHandler(
    configureUpdate,
    async (request: ConfigureRequest) => {
      const { batchSize, subBatchSize, subBatchPauseMs, migration, ...rest } = request;
      // Migration settings first: when the database refuses them (a sub-batch size above a
      // stored batch size), the update fails with nothing changed, knobs included. Histories
      // recorded before this order replay the old one (knobs first).
      const settingsFirst = patched('configure-settings-first');
      if (!settingsFirst) knobs = { ...knobs, ...rest };
      if (batchSize !== undefined || subBatchSize !== undefined || subBatchPauseMs !== undefined)
        await bookkeeping.setBatchSize({ repository, migration, batchSize, subBatchSize, subBatchPauseMs });
      if (settingsFirst) knobs = { ...knobs, ...rest };
      log.info('knobs changed', { repository, knobs, batchSize, subBatchSize, subBatchPauseMs, migration });
      return knobs;
    },
    { validator: validateConfigure(() => knobs) },
  );
  setHandler(progressQuery, (...args: unknown[]): RepositoryProgress => {
    assertNoQueryArgs('progress', args);
    return { repository, state, detail, knobs, migrations: [...progress.values()], totals };
  });

  const published: Record<string, unknown> = {};
  const publish = (migration?: MigrationProgress): void => {
    const next = {
      status: state,
      migration: migration?.name ?? published.migration,
      percent: migration ? Math.floor(migration.percent) : published.percent,
    };
    if (next.status === published.status && next.migration === published.migration && next.percent === published.percent) return;
    Object.assign(published, next);
    // The web UI shows this line on the workflow page.
    setCurrentDetails(
      `**${state}**${typeof next.migration === 'string' ? ` · ${next.migration} ${next.percent ?? 0}%` : ''}${detail ? ` · ${detail}` : ''}`,
    );
    upsertSearchAttributes([
      { key: SA.repository, value: repository },
      { key: SA.status, value: state },
      ...(typeof next.migration === 'string' ? [{ key: SA.migration, value: next.migration }] : []),
      ...(typeof next.percent === 'number' ? [{ key: SA.progress, value: next.percent }] : []),
    ]);
  };
  const track = (p: MigrationProgress | null): void => {
    if (!p) return;
    progress.set(p.id, p);
    publish(p);
  };
  const recordFind = (found: FindJobResult): void => {
    for (const m of found.finished) totals.migrationsFinished.push(m.name);
    for (const m of found.failed) {
      totals.migrationsFailed.push(m.name);
      failedIds.add(m.id);
    }
  };

  try {
    if (!startedAt) {
      const initial = await bookkeeping.repositoryProgress({ repository });
      startedAt = initial.now;
      for (const p of initial.migrations) progress.set(p.id, p);
      // The definitions, for people looking at the workflow in the web UI.
      upsertMemo({ repository, migrations: initial.definitions });
    }
    let done = false;
    for (;;) {
      if (pending.length > 0) {
        await applyControl(pending.splice(0), repository);
        done = false;
      }
      if (done) break;
      if (shouldContinueAsNew(knobs)) {
        await condition(allHandlersFinished);
        return await continueAsNew<typeof repositoryMigration>({
          repository,
          knobs,
          retryFailed,
          carried: { totals, failedMigrationIds: [...failedIds], pending: pending.splice(0), progress: [...progress.values()], startedAt },
        });
      }

      state = 'running';
      detail = null;
      publish();
      try {
        fence = await locker(knobs).acquireLease({
          repository,
          holder: info.workflowId,
          ttlMs: leaseTtl(knobs),
          waitMs: knobs.lockWaitTimeoutMs,
        });
      } catch (err) {
        if (failureType(err) !== ErrorCode.LOCK_TIMEOUT) throw err;
        state = 'waiting_for_lock';
        detail = (err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : String(err);
        publish();
        await condition(() => pending.length > 0, knobs.lockWaitTimeoutMs);
        continue;
      }

      const batchId = `${info.runId.slice(0, 8)}-${totals.batches}`;
      let jobMs = 0;
      let waitMs = 0;
      for (let i = 0; i < knobs.maxJobPerBatch && pending.length === 0 && jobMs < knobs.maxBatchTimeoutMs; i++) {
        const found = await hot(knobs).findJob({
          repository,
          fence,
          maxJobAttempts: knobs.maxJobAttempts,
          retryFailed,
          exclude: [...failedIds],
          leaseTtlMs: leaseTtl(knobs),
        });
        retryFailed = false;
        recordFind(found);
        if (!found.job) {
          done = true;
          break;
        }
        try {
          const result = await execute(knobs, found.job, fence, batchId);
          jobMs += result.durationMs;
          recordExecution(result, totals);
          track(result.progress);
        } catch (err) {
          const outcome = await onJobError(err, found.job);
          if (outcome.waitMs) {
            waitMs = outcome.waitMs;
            state = outcome.state;
            detail = outcome.detail;
            publish();
            break;
          }
          if (outcome.leaseLost) break;
        }
      }
      totals.batches += 1;
      const { delayMs } = await hot(knobs).releaseLease({ fence, minDelayMs: knobs.minDelayMs, maxDelayMs: knobs.maxDelayMs });
      fence = undefined;
      const pause = done ? 0 : Math.max(delayMs, waitMs);
      // A durable timer: a worker restart during the pause resumes exactly here. Control requests cut it short.
      if (pause > 0) await condition(() => pending.length > 0, pause);
    }

    return await finish();
  } catch (err) {
    if (!isCancellation(err)) throw err;
    await CancellationScope.nonCancellable(async () => {
      if (fence) await bookkeeping.releaseLease({ fence, minDelayMs: 0, maxDelayMs: 0 });
      state = 'cancelled';
      detail = 'cancelled; the in-flight job was rolled back and the migrations stay resumable';
      publish();
      await notify('cancelled');
    });
    throw err;
  }

  async function finish(): Promise<RepositorySummary> {
    const final = await bookkeeping.repositoryProgress({ repository });
    for (const p of final.migrations) progress.set(p.id, p);
    const migrations = [...progress.values()];
    state = migrations.some((m) => m.status === 'failed')
      ? 'failed'
      : migrations.some((m) => m.status === 'paused')
        ? 'paused'
        : 'finished';
    publish(migrations.find((m) => m.status === state) ?? migrations[migrations.length - 1]);
    await condition(allHandlersFinished);
    await notify(state);
    log.info('repository migration reached a final state', { repository, state, jobs: totals.jobs, rows: totals.rows });
    return { repository, state, ...totals, durationMs: Date.parse(final.now) - Date.parse(startedAt ?? final.now), migrations };
  }

  async function notify(finalState: RepositoryState): Promise<void> {
    try {
      await notifier.notifyEnqueuer({ repository, state: finalState });
    } catch (err) {
      // The enqueuer is an optimisation for throughput; its absence must not fail the repository.
      log.warn('could not notify the enqueuer', { repository, error: String(err) });
    }
  }

  async function applyControl(requests: ControlRequest[], repo: string): Promise<void> {
    for (const r of requests) {
      let changed: string[];
      try {
        changed = await bookkeeping.controlMigrations({ action: r.kind, repository: repo, migration: r.migration });
      } catch (err) {
        if (failureType(err) !== ErrorCode.MIGRATION_NOT_FOUND) throw err;
        log.warn(`ignored ${r.kind} signal: no such migration`, { repository: repo, migration: r.migration });
        continue;
      }
      log.info(`${r.kind} applied`, { repository: repo, migrations: changed });
      // A resume (also sent by `bbm migrations retry`) makes this run stop skipping the migrations it names.
      if (r.kind === 'resume')
        for (const m of progress.values())
          if (r.migration === undefined || r.migration === m.name || changed.includes(m.name)) failedIds.delete(m.id);
    }
  }

  async function onJobError(
    err: unknown,
    job: JobDescriptor,
  ): Promise<{ waitMs?: number; state: RepositoryState; detail: string | null; leaseLost?: boolean }> {
    if (isCancellation(err)) throw err;
    const type = failureType(err);
    const message = failureMessage(err);
    if (type === ErrorCode.MAX_JOB_RETRY) {
      failedIds.add(job.migrationId);
      totals.migrationsFailed.push(job.migrationName);
      log.warn('migration failed: job attempts exhausted', { repository, migration: job.migrationName, job: job.jobId });
      return { state, detail };
    }
    if (type === ErrorCode.LEASE_LOST) return { state, detail, leaseLost: true };
    if (type === ErrorCode.WORK_FUNCTION_NOT_FOUND) {
      // A rolling deploy: this worker lacks the function. Wait visibly; another worker may have it.
      return { waitMs: 30_000, state: 'waiting_for_work_function', detail: message };
    }
    if (type && NON_RETRYABLE_JOB_ERRORS.has(type)) throw err;
    // Retries exhausted on a transient problem (timeouts, a worker killed repeatedly): back off, then resume.
    log.warn('job did not complete; retrying after a pause', { repository, job: job.jobId, error: message });
    return { waitMs: 10_000, state: 'retrying', detail: message };
  }
}

const NON_RETRYABLE_JOB_ERRORS = new Set<string>(JOB_FAILING_CODES);

/** A well-formed pause/resume payload ({} or {"migration": "name"}), or undefined after logging and counting why not. */
function controlRequest(kind: ControlRequest['kind'], target: unknown, totals: RepositoryTotals): ControlRequest | undefined {
  const problem = migrationTargetProblem(kind, target);
  if (!problem) {
    const migration = targetMigration(target);
    return migration === undefined ? { kind } : { kind, migration };
  }
  totals.ignoredSignals = noteIgnoredSignal(totals.ignoredSignals, problem);
  log.warn(`ignored a malformed ${kind} signal: ${problem.message}`, { payload: JSON.stringify(target) ?? String(target) });
  return undefined;
}

/** Per-job retries are this activity's retry policy: maxJobAttempts attempts, each recorded in the job row. */
function execute(knobs: Knobs, job: JobDescriptor, fence: FenceToken, batchId: string): Promise<ExecuteJobResult> {
  const retry: RetryPolicy = {
    maximumAttempts: knobs.maxJobAttempts,
    initialInterval: '1s',
    backoffCoefficient: 2,
    maximumInterval: '30s',
  };
  const range = job.start === null ? 'next NULL rows' : `ids ${job.start}..${job.end}`;
  const args: Parameters<RepositoryActivities['executeJob']> = [
    { job, fence, maxJobAttempts: knobs.maxJobAttempts, jobTimeoutMs: knobs.jobTimeoutMs, batchId },
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

function locker(knobs: Knobs): Pick<RepositoryActivities, 'acquireLease'> {
  const retry: RetryPolicy = { initialInterval: '500ms', backoffCoefficient: 2, maximumInterval: '10s' };
  if (knobs.localActivities)
    return proxyLocalActivities<RepositoryActivities>({ startToCloseTimeout: knobs.lockWaitTimeoutMs + 30_000, retry });
  return proxyActivities<RepositoryActivities>({
    startToCloseTimeout: knobs.lockWaitTimeoutMs + 30_000,
    heartbeatTimeout: '10 seconds',
    retry,
  });
}

function recordExecution(result: ExecuteJobResult, totals: RepositoryTotals): void {
  // already_finished: an earlier attempt committed but its result never reached the workflow.
  if (result.outcome !== 'finished' && result.outcome !== 'already_finished') return;
  totals.jobs += 1;
  totals.rows = addDecimal(totals.rows, result.rows);
}

/** The lease must outlive a whole batch of slow jobs, or a healthy holder could lose it mid-batch. */
function leaseTtl(knobs: Knobs): number {
  return knobs.jobTimeoutMs * 2 + 30_000;
}

function shouldContinueAsNew(knobs: Knobs): boolean {
  const info = workflowInfo();
  return info.continueAsNewSuggested || info.historyLength > knobs.historyEventBudget;
}

function failureType(err: unknown): string | undefined {
  let e: unknown = err;
  while (e && typeof e === 'object') {
    if (e instanceof ApplicationFailure) return e.type ?? undefined;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

function failureMessage(err: unknown): string {
  const cause = (err as { cause?: { message?: string } }).cause;
  return cause?.message ?? (err as Error).message ?? String(err);
}

function validateInput(input: RepositoryWorkflowInput, workflowId: string): void {
  const problem = repositoryInputProblem(input, workflowId);
  if (problem) throw asFailure(problem);
}

function validateConfigure(current: () => Knobs) {
  return (request: ConfigureRequest): void => {
    const problem = configureProblem(request, current());
    if (problem) throw asFailure(problem);
  };
}
