import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import type { AuditOrigin } from '../src/contract/audit';
import { originOf } from './audit';
import { changeBatchSettings, pauseMigrations, resumeMigrations, retryFailedMigrations } from '../src/engine/control';
import type { ControlKind } from '../src/contract/workflows';
import { executeJob } from '../src/engine/execute-job';
import type { FindAheadInput } from '../src/engine/find-ahead';
import { findJob } from '../src/engine/find-job';
import { acquireLease } from '../src/engine/lease';
import { migrationsProgress } from '../src/engine/progress';
import type { WorkRegistry } from '../src/engine/registry';
import type { RunAheads } from '../src/engine/run-ahead';
import { migrationInfo, type MigrationInfo } from '../src/api/migration-info';
import type { MigrationRow } from '../src/store/types';
import type { ExecuteJobResult, FenceToken, FindJobResult, JobDescriptor, MigrationProgress } from '../src/engine/types';
import { lazyChild, type Logger } from '../src/logger';
import type { BbmMetrics } from '../src/metrics';
import { releaseLease } from '../src/store/leases';
import { databaseNow } from '../src/store/server';
import { adapt, checkInput } from './failures';

export interface RepositoryActivityDeps {
  pool: Pool;
  /** Reads a run's history for the sender of an operator request (audit trail only). */
  client: Client;
  registry: WorkRegistry;
  logger: Logger;
  metrics: BbmMetrics;
  /** The worker's run-aheads (src/engine/run-ahead.ts). @default none: no run-ahead */
  runAheads?: RunAheads;
}

/**
 * A migration's definition as shown in the workflow's memo (web UI "Memo" panel): the definition
 * fields of the API's JSON-safe view (src/api/migration-info.ts), so both convert the same way.
 */
export type MigrationDefinitionMemo = Pick<
  MigrationInfo,
  'name' | 'work' | 'table' | 'column' | 'strategy' | 'batchSize' | 'subBatchSize' | 'subBatchPauseMs' | 'minValue' | 'maxValue' | 'args'
>;

/** The memo's part of `m`: its definition, without progress or timestamps. */
function definitionMemo(m: MigrationRow): MigrationDefinitionMemo {
  const { name, work, table, column, strategy, batchSize, subBatchSize, subBatchPauseMs, minValue, maxValue, args } = migrationInfo(m);
  return { name, work, table, column, strategy, batchSize, subBatchSize, subBatchPauseMs, minValue, maxValue, args };
}

export interface AcquireLeaseInput {
  repository: string;
  holder: string;
  ttlMs: number;
  waitMs: number;
}
export interface FindJobActivityInput {
  repository: string;
  fence: FenceToken;
  maxJobAttempts: number;
  retryFailed: boolean;
  /** Migration ids as decimal strings. */
  exclude: string[];
  /** Lease lifetime to renew to, so a long batch never outlives its lease. */
  leaseTtlMs: number;
}
export interface ExecuteJobActivityInput {
  job: JobDescriptor;
  fence: FenceToken;
  maxJobAttempts: number;
  jobTimeoutMs: number;
  batchId: string;
  /** Also find the next job in the job's transaction (src/engine/find-ahead.ts). @default off */
  findAhead?: FindAheadInput;
  /**
   * The workflow will call executeJob again in this round, for the job found ahead: open its
   * run-ahead (src/engine/run-ahead.ts) when this worker has it on. @default off
   */
  runAhead?: boolean;
  /**
   * Job time (ms) left before the workflow's next health check: a job that takes at least this
   * long is not followed by a run-ahead, since the next job's work must wait for the check. @default no limit
   */
  healthCheckInMs?: number;
}
export interface ReleaseLeaseInput {
  fence: FenceToken;
  minDelayMs: number;
  maxDelayMs: number;
}
export interface ControlInput {
  action: ControlKind;
  repository: string;
  migration?: string;
  /** Record the action in the audit trail, with who sent it (see src/audit/origin.ts). @default not recorded */
  origin?: AuditOrigin;
  /** Record it as this action instead (a cancelled run's pause is the `cancel`). */
  auditAction?: 'cancel';
  /** Pause only: 'cancel' marks the pause a cancelled run makes, so resuming the repository undoes only it (schema 0008). */
  reason?: 'cancel';
}
/** A `configure` request's migration settings; absent fields keep their value. */
export interface BatchSizeInput {
  repository: string;
  migration?: string;
  batchSize?: number;
  /** null turns sub-batches off (one transaction per job). */
  subBatchSize?: number | null;
  subBatchPauseMs?: number;
  /** Adaptive batch size: target ms per job (0: off) and the tuned size's bounds. */
  targetJobMs?: number;
  minBatchSize?: number;
  maxBatchSize?: number;
  /** Record the change in the audit trail, with who sent the update. @default not recorded */
  origin?: AuditOrigin;
  /** The workflow's knobs the same update changed, before and after, for the `configure` event. */
  knobs?: { before: Record<string, unknown>; after: Record<string, unknown> };
}

/** Activities of the repository workflow: thin adapters over src/engine. */
export function createRepositoryActivities(deps: RepositoryActivityDeps) {
  const { pool, registry, metrics, runAheads } = deps;
  // Every activity of a repository but executeJob first rolls back the repository's run-ahead:
  // what it does must not wait on the run-ahead's migration row lock (src/engine/run-ahead.ts).
  const abandonRunAhead = async (repository: string): Promise<void> => runAheads?.abandon(repository);
  const logBindings = (): Record<string, unknown> => {
    const info = Context.current().info;
    return {
      workflow_id: info.workflowExecution?.workflowId,
      run_id: info.workflowExecution?.runId,
      activity: info.activityType,
      attempt: info.attempt,
    };
  };
  const log = (): Logger => deps.logger.child(logBindings());
  const timed = async <T>(operation: string, fn: () => Promise<T>): Promise<T> => {
    const end = metrics.queryDuration.startTimer({ operation });
    try {
      return await fn();
    } finally {
      end();
    }
  };

  return {
    async acquireLease(input: AcquireLeaseInput): Promise<FenceToken> {
      checkInput('acquireLease', input);
      return adapt(() =>
        timed('lease', async () => {
          const ctx = Context.current();
          await abandonRunAhead(input.repository);
          const fence = await acquireLease(pool, input, ctx.cancellationSignal, () => ctx.heartbeat());
          log().debug({ repository: input.repository, token: fence.token }, 'obtained the lease');
          return fence;
        }),
      );
    },

    async findJob(input: FindJobActivityInput): Promise<FindJobResult> {
      checkInput('findJob', input);
      return adapt(() =>
        timed('find', async () => {
          await abandonRunAhead(input.repository);
          const result = await findJob(pool, input);
          const l = log();
          for (const m of result.finished) l.info({ bbm_id: m.id, bbm_name: m.name, bbm_status: 'finished' }, 'migration finished');
          for (const m of result.failed) {
            l.warn({ bbm_id: m.id, bbm_name: m.name, bbm_status: 'failed', failure: m.failure }, 'migration failed');
            metrics.failures.inc({ repository: input.repository, code: m.failure ?? 'unknown' });
          }
          for (const m of result.finished) metrics.progress.set({ migration: m.name, repository: input.repository }, 100);
          return result;
        }),
      );
    },

    async executeJob(input: ExecuteJobActivityInput): Promise<ExecuteJobResult> {
      checkInput('executeJob', input);
      const ctx = Context.current();
      const { job } = input;
      // Built on the first line written at an enabled level, not per job: a child logger serialises
      // its bindings when it is made, and at the default level these lines are filtered out.
      const l = lazyChild(deps.logger, () => ({
        ...logBindings(),
        batch_id: input.batchId,
        correlation_id: `${input.batchId}:${job.jobId}:${ctx.info.attempt}`,
        job_id: job.jobId,
        job_bbm_id: job.migrationId,
        job_name: job.workName,
        job_start_id: job.start,
        job_end_id: job.end,
        job_batch_size: job.batchSize,
        job_pagination_table: job.table,
        job_pagination_column: job.column,
        bbm_name: job.migrationName,
      }));
      const labels = { migration: job.migrationName, repository: job.repository };
      // Heartbeats carry cancellation to us, and let Temporal notice a dead worker quickly. A local
      // activity has no heartbeat (the SDK warns on each one); its cancellation reaches it directly.
      const heartbeat = (details?: unknown): void => (ctx.info.isLocal ? undefined : ctx.heartbeat(details));
      const beat = ctx.info.isLocal ? undefined : setInterval(heartbeat, Math.max(200, Math.min(1_000, input.jobTimeoutMs / 4)));
      const end = metrics.jobDuration.startTimer(labels);
      const startedAt = performance.now();
      try {
        l.info({ job_attempts: job.attempts }, 'found job, starting execution');
        const result = await adapt(() =>
          executeJob(
            { pool, registry, runAheads },
            {
              jobId: job.jobId,
              migrationId: job.migrationId,
              maxJobAttempts: input.maxJobAttempts,
              jobTimeoutMs: input.jobTimeoutMs,
              fence: input.fence,
              findAhead: input.findAhead,
              // Only a local activity: the workflow's next executeJob then runs on this worker too, where the run-ahead is.
              runAhead: ctx.info.isLocal && input.runAhead === true && input.findAhead !== undefined,
              healthCheckInMs: input.healthCheckInMs,
              // Between sub-batches: a heartbeat with the cursor (and a chance to hear of a cancellation).
              onSubBatch: heartbeat,
            },
            ctx.cancellationSignal,
          ),
        );
        end({ outcome: result.outcome });
        metrics.jobs.inc({ ...labels, outcome: result.outcome });
        if (result.outcome === 'finished') {
          // Prometheus counters are floats anyway; rows per job are far below 2^53.
          metrics.migratedTuples.inc(labels, Number(result.rows));
          metrics.jobBatchSize.set(labels, job.batchSize);
        }
        if (result.progress) metrics.progress.set(labels, result.progress.percent);
        l.info(
          { job_status: result.outcome, rows: result.rows, duration_s: result.durationMs / 1000, job_attempts: result.attempts },
          result.outcome === 'finished' ? 'job completed' : `job ${result.outcome}`,
        );
        return { ...result, elapsedMs: Math.round((performance.now() - startedAt) * 1000) / 1000 };
      } catch (err) {
        const type = (err as { type?: string }).type ?? 'ERROR';
        end({ outcome: 'failed' });
        metrics.jobs.inc({ ...labels, outcome: 'failed' });
        metrics.failures.inc({ repository: job.repository, code: type });
        l.error({ job_status: 'failed', code: type, err: (err as Error).message }, 'failed to execute job');
        throw err;
      } finally {
        clearInterval(beat);
      }
    },

    /** Let the lease go and draw the jittered pause before the next batch (randomness belongs outside the workflow). */
    async releaseLease(input: ReleaseLeaseInput): Promise<{ delayMs: number }> {
      checkInput('releaseLease', input);
      return adapt(() =>
        timed('release', async () => {
          await abandonRunAhead(input.fence.repository);
          await releaseLease(pool, input.fence);
          const delayMs = Math.round(input.minDelayMs + Math.random() * (input.maxDelayMs - input.minDelayMs));
          metrics.runs.inc({ repository: input.fence.repository });
          metrics.sleepDuration.observe({ repository: input.fence.repository }, delayMs / 1000);
          log().debug({ duration_s: delayMs / 1000, jitter_s: delayMs / 1000 }, 'released lock, sleeping before next run');
          return { delayMs };
        }),
      );
    },

    async controlMigrations(input: ControlInput): Promise<string[]> {
      checkInput('controlMigrations', input);
      return adapt(async () => {
        await abandonRunAhead(input.repository);
        const selector = { repository: input.repository, name: input.migration };
        const who = input.origin && (await originOf(deps.client, input.origin));
        const audit = who && (input.auditAction ? { ...who, action: input.auditAction } : who);
        const changed =
          input.action === 'pause'
            ? await pauseMigrations(pool, selector, audit, input.reason === 'cancel')
            : await { resume: resumeMigrations, retry: retryFailedMigrations }[input.action](pool, selector, audit);
        log().info({ repository: input.repository, migrations: changed, action: input.action }, 'applied a control request');
        return changed;
      });
    },

    /**
     * Batch size and sub-batch settings. Kept under its first name (activity type `setBatchSize`)
     * so that workflow histories recorded before sub-batches existed still replay.
     */
    async setBatchSize(input: BatchSizeInput): Promise<string[]> {
      checkInput('setBatchSize', input);
      const { repository, migration, origin, knobs, ...change } = input;
      return adapt(async () => {
        await abandonRunAhead(repository);
        const who = origin && (await originOf(deps.client, origin));
        return changeBatchSettings(pool, { repository, name: migration }, change, who && { ...who, knobs });
      });
    },

    /** Every migration of the repository, and the database's clock (the workflow keeps no wall clock of its own). */
    async repositoryProgress(input: {
      repository: string;
    }): Promise<{ migrations: MigrationProgress[]; definitions: MigrationDefinitionMemo[]; now: string }> {
      checkInput('repositoryProgress', input);
      return adapt(async () => {
        const all = await migrationsProgress(pool, { repository: input.repository });
        const definitions = all.map(({ migration }) => definitionMemo(migration));
        return { migrations: all.map((x) => x.progress), definitions, now: await databaseNow(pool) };
      });
    },
  };
}

export type RepositoryActivities = ReturnType<typeof createRepositoryActivities>;
