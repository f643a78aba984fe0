import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import type { ConfigureRequest, RepositoryProgress } from '../contract/messages';
import type { AuditSource } from '../contract/audit';
import { resolveActor } from '../audit/actor';
import { deleteScheduleRecorded, ensureScheduleRecorded, setCapacityRecorded, type EnqueuerOperatorDeps } from '../enqueuer/operator';
import type { ConfigureReport } from '../repository/configure';
import type { AuditEvent } from '../store/audit';
import type { RepositorySummary } from '../contract/workflows';
import { checkConnection, createPool } from '../db/pool';
import { migrateSchema } from '../db/schema';
import { defineMigration, type MigrationDefinition } from '../engine/definitions';
import { dryRunMigration, type DryRunReport } from '../engine/dry-run';
import type { EnsureFinishedOptions } from '../repository/finalize';
import type { WorkFunction } from '../engine/registry';
import type { MigrationProgress } from '../engine/types';
import type { Knobs } from '../knobs';
import {
  controlTimeout,
  DEFAULT_CONTROL_TIMEOUT_MS,
  RepositoryService,
  type ControlReport,
  type RepositoryStatus,
  type RetryReport,
} from '../repository';
import type { MigrationSelector } from '../engine/control';
import { checkAuditFilter, checkedString, checkSelector, type AuditFilterInput, type SelectorInput } from './inputs';
import { migrationInfo, type MigrationInfo } from './migration-info';
import { connectClient } from '../temporal/connection';
import { configFrom, registryOf, requireDatabaseUrl, type ConnectionSettings } from './settings';

export interface BbmClientOptions extends ConnectionSettings {
  /**
   * Work functions `define` may name besides the built-ins; the workers must register the same
   * ones (their `validateArgs` runs here at definition). @default none
   */
  workFunctions?: readonly WorkFunction[];
  /**
   * Who acts, recorded with every action in the audit trail (`bbm audit`, bbm.audit_events, via
   * `api`) and sent as the Temporal client's identity: 1 to 200 printable characters
   * (INVALID_INPUT otherwise, from the constructor). @default the OS user
   */
  actor?: string;
}

/**
 * bbm's operator commands as a library: the same checks, error codes and behaviour as the CLI
 * (`bbm migrations create|pause|resume|retry`, `bbm repositories start|cancel|status`), over
 * one Postgres pool (4 connections, opened on first use) and one Temporal client (opened on
 * first use). Every method throws BbmError with a stable `code` (see ErrorCode); call `close()`
 * when done.
 */
export class BbmClient {
  private readonly config;
  private readonly registry;
  private readonly service: RepositoryService;
  private readonly source: AuditSource;
  private poolPromise: Promise<Pool> | undefined;
  private clientPromise: Promise<Client> | undefined;

  /** Throws CONFIG_INVALID for an unusable setting, INVALID_INPUT for an unusable actor (checked at once; nothing connects yet). */
  constructor(options: BbmClientOptions = {}) {
    this.config = configFrom(options);
    this.registry = registryOf(options.workFunctions);
    this.source = { actor: resolveActor(options.actor), via: 'api' };
    this.service = new RepositoryService({
      db: () => this.db(),
      hasDatabase: true,
      client: () => this.temporal(),
      taskQueue: this.config.taskQueue,
      audit: this.source,
    });
  }

  /**
   * Define a migration (`bbm migrations create`): validated in full, then inserted as active (or
   * paused with `paused: true`); nothing is written when a check fails. Creates bbm's schema if
   * the database has none yet. Throws (src/engine/definitions.ts checkDefinition):
   * INVALID_INPUT (an unknown field, a bad name or repository key, args refused by the work
   * function's validateArgs), INVALID_JOB_SIGNATURE (no such work function), INVALID_IDENTIFIER
   * (table or column name), INVALID_BATCHING_STRATEGY, INVALID_BATCH_SIZE, INVALID_SUB_BATCH_SIZE,
   * INVALID_SUB_BATCH_PAUSE, INVALID_RANGE, INVALID_TABLE, INVALID_COLUMN (missing, or not an
   * integer for a range strategy), PAGINATION_COLUMN_NOT_UNIQUE, MISSING_INDEX, MISSING_NULL_INDEX,
   * MISSING_UNIQUE_KEY (what the strategy needs of the table), MIGRATION_EXISTS; and CONFIG_INVALID
   * (no database configured) or CANNOT_CONNECT before any check. Returns the migration as
   * JSON-safe MigrationInfo (ids, bounds and counts as decimal strings).
   */
  async define(definition: MigrationDefinition): Promise<MigrationInfo> {
    const pool = await this.db();
    await migrateSchema(pool);
    return migrationInfo(await defineMigration({ pool, registry: this.registry }, definition, this.source));
  }

  /**
   * Plan a migration without writing anything (`bbm migrations create --dry-run`): the same checks
   * as `define`, then estimated rows and jobs, the first job's range, the EXPLAIN of each statement
   * the work function runs for one sample job (in a transaction that is rolled back, so it takes
   * that job's row locks briefly) with warnings for sequential scans, and a total-time estimate.
   * Throws the same codes as `define`.
   */
  async dryRun(definition: MigrationDefinition): Promise<DryRunReport> {
    return dryRunMigration({ pool: await this.db(), registry: this.registry }, definition);
  }

  /**
   * The finalize gate (`bbm migrations finalize`): resolves with the migration's progress when it
   * is finished. Without `run` it throws MIGRATION_NOT_FINISHED (with status and progress) while
   * it is not, and MIGRATION_FAILED when it failed; with `run: true` it resumes a paused
   * migration, starts or waits for its repository workflow and resolves when the remaining jobs
   * are done, with the same exactly-once guarantees. MIGRATION_NOT_FOUND for an unknown name.
   */
  async ensureFinished(name: string, options: EnsureFinishedOptions = {}): Promise<MigrationProgress> {
    return this.service.ensureFinished(checkedString(name, 'name', 'ensureFinished'), options);
  }

  /**
   * Start the repository's workflow (`bbm repositories start`), optionally with knobs (batch
   * timing, health thresholds; see Knobs). Throws INVALID_INPUT for a bad key or bad knobs (an
   * unknown knob, a value out of its range, minDelayMs above maxDelayMs with the defaults filled
   * in), with nothing started; REPOSITORY_NOT_FOUND (no migration of it) and ALREADY_RUNNING.
   */
  start(
    repository: string,
    options: { knobs?: Partial<Knobs>; retryFailed?: boolean } = {},
  ): Promise<{ workflowId: string; runId: string }> {
    return this.service.start(repository, options);
  }

  /**
   * Pause one migration (`'name'`, `{ name }` or `{ migration }`), a repository's
   * (`{ repository }`), or every migration (`{}` or no argument: say so explicitly). A running
   * workflow applies it after the job in flight; waits up to `timeoutMs` (@default 60000 ms) for
   * that and throws TIMEOUT if it has not happened (the request stands). INVALID_INPUT for a
   * selector with an unknown field or a non-string value (nothing changes), MIGRATION_NOT_FOUND /
   * REPOSITORY_NOT_FOUND for unknown names.
   */
  async pause(selector?: SelectorInput, options: { timeoutMs?: number } = {}): Promise<ControlReport> {
    return this.control('pause', checkSelector(selector, 'pause'), options);
  }

  /** Resume paused migrations; `start: true` also starts idle repositories. Same selector, waiting and errors as pause. */
  async resume(selector?: SelectorInput, options: { timeoutMs?: number; start?: boolean } = {}): Promise<ControlReport> {
    return this.control('resume', checkSelector(selector, 'resume'), options);
  }

  /**
   * Put a failed migration back to running with a fresh attempt budget. INVALID_INPUT when `name`
   * is not a non-empty string, INVALID_STATE when it has not failed, MIGRATION_NOT_FOUND.
   */
  async retry(name: string): Promise<RetryReport> {
    return this.service.retry(checkedString(name, 'name', 'retry'));
  }

  /**
   * Cancel the repository's running workflow and wait up to `timeoutMs` (@default 60000 ms) for it
   * to close; jobs in flight roll back. `cancelled: false` when none was running.
   */
  cancel(
    repository: string,
    options: { timeoutMs?: number } = {},
  ): Promise<{ cancelled: boolean; workflowStatus: string | null; pending: boolean }> {
    return this.service.cancel(repository, options.timeoutMs ?? DEFAULT_CONTROL_TIMEOUT_MS);
  }

  /** A repository's workflow status and its migrations' progress. REPOSITORY_NOT_FOUND when unknown. */
  status(repository: string): Promise<RepositoryStatus> {
    return this.service.status(repository);
  }

  /**
   * Progress of one migration (MIGRATION_NOT_FOUND), a repository's, or all (`{}`): rows as decimal
   * strings (bigint-safe). Takes the same selector as pause (INVALID_INPUT for an unusable one).
   */
  async progress(filter?: SelectorInput): Promise<MigrationProgress[]> {
    return this.service.progress(checkSelector(filter, 'progress'));
  }

  /**
   * Wait for the repository's running workflow to finish and return its summary; `onProgress`
   * gets its live state about once a second. Throws REPOSITORY_NOT_FOUND when no workflow ran.
   */
  wait(repository: string, options: { onProgress?: (progress: RepositoryProgress) => void } = {}): Promise<RepositorySummary> {
    return this.service.follow(repository, options.onProgress ?? (() => undefined));
  }

  /**
   * The `configure` update of a repository (`bbm migrations configure`): knobs, `batchSize`,
   * sub-batch and tuning settings, of one migration (`migration`) or all its unfinished ones. Its
   * running workflow applies it; with none running the settings are written directly and knobs are
   * refused (INVALID_STATE). INVALID_BATCH_SIZE, INVALID_SUB_BATCH_SIZE, INVALID_SUB_BATCH_PAUSE,
   * INVALID_INPUT for bad values (nothing changes), REPOSITORY_NOT_FOUND, MIGRATION_NOT_FOUND.
   */
  configure(repository: string, request: ConfigureRequest): Promise<ConfigureReport> {
    return this.service.configure(repository, request);
  }

  /**
   * Set the enqueuer's capacity (`bbm capacity set N`, 0..1000; INVALID_INPUT otherwise); starts
   * the enqueuer with it when none runs. Resolves with the capacity now in force.
   */
  async setCapacity(capacity: number): Promise<number> {
    return (await setCapacityRecorded(await this.operatorDeps(), capacity)).capacity;
  }

  /** Create or update the schedule that wakes the enqueuer (`bbm schedule create`); `intervalSeconds` @default 60. */
  async ensureSchedule(options: { intervalSeconds?: number; paused?: boolean } = {}): Promise<{ scheduleId: string; created: boolean }> {
    return ensureScheduleRecorded(await this.operatorDeps(), options);
  }

  /** Delete the enqueuer's schedule (`bbm schedule delete`); false when there was none. */
  async deleteSchedule(): Promise<boolean> {
    return deleteScheduleRecorded(await this.operatorDeps());
  }

  /**
   * The audit trail (`bbm audit`): recorded operator actions, listed oldest first, optionally of
   * one migration (repository-wide events that covered it included), one repository, and since an
   * instant (a Date, or the CLI's forms: `30m`, `1h`, `2d`, `1w`, ISO 8601 text); the most recent
   * `limit` of them (an integer 1..100000, @default 1000). INVALID_INPUT for an unknown field, an
   * unusable `since` or `limit` (checked before any query).
   */
  async audit(filter?: AuditFilterInput): Promise<AuditEvent[]> {
    return this.service.audit(checkAuditFilter(filter));
  }

  /** Close the pool and the Temporal connection (whichever were opened). */
  async close(): Promise<void> {
    const pool = this.poolPromise;
    const client = this.clientPromise;
    this.poolPromise = this.clientPromise = undefined;
    await pool?.then((p) => p.end()).catch(() => undefined);
    await client?.then((c) => c.connection.close()).catch(() => undefined);
  }

  private async control(
    kind: 'pause' | 'resume',
    selector: MigrationSelector,
    options: { timeoutMs?: number; start?: boolean },
  ): Promise<ControlReport> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_CONTROL_TIMEOUT_MS;
    const report = await this.service[kind](selector, { ...options, timeoutMs });
    if (report.pending.length > 0) throw controlTimeout(report, timeoutMs, this.config.taskQueue);
    return report;
  }

  private async operatorDeps(): Promise<EnqueuerOperatorDeps> {
    return { client: await this.temporal(), pool: await this.db(), taskQueue: this.config.taskQueue, audit: this.source };
  }

  private db(): Promise<Pool> {
    this.poolPromise ??= (async () => {
      const url = requireDatabaseUrl(this.config.databaseUrl);
      const pool = createPool({ url, max: 4, applicationName: 'bbm-client' });
      try {
        await checkConnection(pool, url);
      } catch (err) {
        await pool.end();
        this.poolPromise = undefined;
        throw err;
      }
      return pool;
    })();
    return this.poolPromise;
  }

  private temporal(): Promise<Client> {
    this.clientPromise ??= connectClient(this.config, this.source.actor).catch((err: unknown) => {
      this.clientPromise = undefined;
      throw err;
    });
    return this.clientPromise;
  }
}
