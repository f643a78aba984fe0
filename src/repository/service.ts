import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import { repositoryFromWorkflowId, repositoryKeyProblem, repositoryWorkflowId } from '../contract/ids';
import { SA } from '../contract/search-attributes';
import type { ConfigureRequest, RepositoryProgress } from '../contract/messages';
import type { AuditContext } from '../engine/audit-record';
import { listAuditEvents, type AuditEvent, type AuditFilter } from '../store/audit';
import { configureRepository, type ConfigureReport } from './configure';
import type { RepositorySummary } from '../contract/workflows';
import { migrationStatusName } from '../engine/constants';
import type { MigrationSelector } from '../engine/control';
import { migrationsProgress } from '../engine/progress';
import type { MigrationProgress } from '../engine/types';
import { BbmError, ErrorCode, invalidInput, isBbmError, notFound, unknownRepository } from '../errors';
import { checkKnobs, type Knobs } from '../knobs';
import { listMigrations } from '../store/migrations';
import { repositoryStatusCounts } from '../store/progress';
import type { MigrationRow } from '../store/types';
import { ensureMigrationFinished, type EnsureFinishedOptions } from './finalize';
import { controlMigrations, retryFailedMigration, type ControlOptions, type ControlReport, type RetryReport } from './control';
import {
  cancelRepositoryWorkflow,
  describeRepositoryWorkflow,
  followRepositoryWorkflow,
  queryRepositoryProgress,
  startRepositoryWorkflow,
  type RepositoryWorkflowDescription,
} from './workflow';

export interface RepositoryServiceDeps {
  /** Opens (once) the Postgres pool; throws CONFIG_INVALID when no database is configured. */
  db: () => Promise<Pool>;
  /**
   * False when no database is configured: start and cancel then skip the "does it exist" check,
   * and status shows the workflow's view alone. @default true
   */
  hasDatabase?: boolean;
  /** Opens (once) the Temporal client. */
  client: () => Promise<Client>;
  /** Task queue of the bbm workers, where repository workflows are started. */
  taskQueue: string;
  /** Who runs the commands (CLI or API), recorded in the audit trail. @default nothing recorded */
  audit?: AuditContext;
}

/** What `status` reports: the workflow's live state when it runs and answers, and the database's view of the migrations (the workflow's when no database is configured or it cannot be read). */
export interface RepositoryStatus {
  repository: string;
  workflowId: string;
  /** Status name of the latest run (RUNNING, COMPLETED, ...), null when it never ran. */
  workflowStatus: string | null;
  /** The progress query's answer, null when no workflow runs or it did not answer. */
  live: RepositoryProgress | null;
  /** Why a running workflow did not answer the progress query (no worker?), null otherwise. */
  liveError: string | null;
  migrations: MigrationProgress[];
}

export interface RepositoryListing {
  repository: string;
  migrations: number;
  /** Migrations per status name, e.g. `{ finished: 2, running: 1 }`. */
  statuses: Record<string, number>;
  /** Status name of its workflow's latest run; null when it never ran or Temporal was not asked. */
  workflowStatus: string | null;
}

/** Describes in flight at once when listing many repositories. */
const DESCRIBE_CONCURRENCY = 8;

/**
 * The client side's one place for repositories: start, describe, status, list, cancel, follow,
 * and the pause/resume/retry commands over their migrations. The CLI builds one per command
 * (src/cli/context.ts); the enqueuer and the demo use the Temporal half (./workflow.ts) directly.
 * Every method validates the repository key first (INVALID_INPUT) and opens only what it needs.
 */
export class RepositoryService {
  constructor(private readonly deps: RepositoryServiceDeps) {}

  /** Throws INVALID_INPUT unless `key` is a repository key (src/contract/ids.ts REPOSITORY_KEY_PATTERN). */
  static checkKey(key: string): void {
    const problem = repositoryKeyProblem(key);
    if (problem) throw invalidInput(problem, { repository: key });
  }

  /**
   * Start the repository's workflow. Throws INVALID_INPUT for a bad key or knobs (an unknown knob,
   * a value out of range, minDelayMs above maxDelayMs once merged into the defaults: the checks
   * the workflow makes of its input), before anything is read or started; REPOSITORY_NOT_FOUND
   * when the database (if configured) holds no migration of it; ALREADY_RUNNING when its workflow runs.
   */
  async start(
    key: string,
    options: { knobs?: Partial<Knobs>; retryFailed?: boolean } = {},
  ): Promise<{ workflowId: string; runId: string }> {
    RepositoryService.checkKey(key);
    // The workflow refuses bad knobs only once started, as a failed run (found by a reviewer:
    // BbmClient.start passed them on unchecked). The CLI checks them first with its own message
    // (checkedKnobs in src/cli/parse.ts), so this refuses only what came from code.
    const knobProblem = checkKnobs(options.knobs);
    if (knobProblem) throw invalidInput(`Invalid knobs: ${knobProblem.message}.`, { repository: key, field: 'knobs' });
    await this.assertKnown(key);
    const outcome = await startRepositoryWorkflow(await this.deps.client(), key, { taskQueue: this.deps.taskQueue, ...options });
    if (!outcome.started) {
      throw new BbmError(
        ErrorCode.ALREADY_RUNNING,
        `Repository ${key} is already running (workflow ${outcome.workflowId}). Follow it with \`bbm repositories status ${key}\`.`,
        { repository: key },
      );
    }
    return { workflowId: outcome.workflowId, runId: outcome.runId };
  }

  /** Its workflow's latest run, or undefined when it never ran. */
  async describe(key: string): Promise<RepositoryWorkflowDescription | undefined> {
    RepositoryService.checkKey(key);
    return describeRepositoryWorkflow(await this.deps.client(), key);
  }

  /** Wait for the running workflow's result, reporting its live state meanwhile (about once a second). */
  async follow(key: string, onProgress: (progress: RepositoryProgress) => void): Promise<RepositorySummary> {
    RepositoryService.checkKey(key);
    return followRepositoryWorkflow(await this.deps.client(), key, onProgress);
  }

  /** Throws REPOSITORY_NOT_FOUND when the workflow never ran and no migration belongs to the key. */
  async status(key: string): Promise<RepositoryStatus> {
    RepositoryService.checkKey(key);
    const client = await this.deps.client();
    const workflowStatus = (await describeRepositoryWorkflow(client, key))?.status ?? null;
    let live: RepositoryProgress | null = null;
    let liveError: string | null = null;
    if (workflowStatus === 'RUNNING') {
      try {
        live = await queryRepositoryProgress(client, key);
      } catch (err) {
        // A query needs a worker to answer it; the database still knows the migrations' progress.
        liveError = (err as Error).message;
      }
    }
    // The database is the truth for each migration's status: the workflow's copy is as of its last
    // job, so while throttled it showed a status that had moved on (found by a fresh tester).
    let migrations = live?.migrations ?? [];
    if (this.hasDatabase) {
      try {
        migrations = await this.progress({ repository: key });
      } catch (err) {
        if (!live) throw err;
      }
    }
    if (workflowStatus === null && migrations.length === 0) throw unknownRepository(key);
    return { repository: key, workflowId: repositoryWorkflowId(key), workflowStatus, live, liveError, migrations };
  }

  /**
   * Every repository that has migrations, sorted by key, with its migrations per status (one
   * query) and its workflow's status. With Temporal unreachable the statuses are null and
   * `warning` says why.
   */
  async list(): Promise<{ repositories: RepositoryListing[]; warning?: string }> {
    const byRepository = new Map<string, RepositoryListing>();
    for (const row of await repositoryStatusCounts(await this.pool())) {
      const entry = byRepository.get(row.repository) ?? { repository: row.repository, migrations: 0, statuses: {}, workflowStatus: null };
      entry.migrations += row.migrations;
      entry.statuses[migrationStatusName(row.status)] = row.migrations;
      byRepository.set(row.repository, entry);
    }
    const repositories = [...byRepository.values()].sort((a, b) => a.repository.localeCompare(b.repository));
    let client: Client;
    try {
      client = await this.deps.client();
    } catch (err) {
      if (!isBbmError(err)) throw err;
      return { repositories, warning: `${err.message} Workflow status is not shown.` };
    }
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < repositories.length) {
        const entry = repositories[next++] as RepositoryListing;
        entry.workflowStatus = (await describeRepositoryWorkflow(client, entry.repository))?.status ?? null;
      }
    };
    await Promise.all(Array.from({ length: Math.min(DESCRIBE_CONCURRENCY, repositories.length) }, lane));
    return { repositories };
  }

  /**
   * Repositories whose running workflow is throttled by a health indicator now, each with the
   * indicators and values (the progress query's detail), or just "throttled" when the workflow
   * does not answer within `queryTimeoutMs`. Found through the BbmStatus search attribute
   * (visibility, so a second or so behind). Empty when Temporal cannot be reached: the caller
   * shows the database's view alone.
   */
  async throttled(queryTimeoutMs = 3_000): Promise<Map<string, string>> {
    const found = new Map<string, string>();
    let client: Client;
    try {
      client = await this.deps.client();
      const query = `${SA.status.name}="throttled" AND ExecutionStatus="Running" AND TaskQueue="${this.deps.taskQueue.replace(/["\\]/g, '')}"`;
      for await (const wf of client.workflow.list({ query })) {
        const repository = repositoryFromWorkflowId(wf.workflowId);
        if (repository !== undefined) found.set(repository, 'throttled');
      }
    } catch {
      return found; // Temporal unreachable, or visibility without the attribute: the database's view alone.
    }
    await Promise.all(
      [...found.keys()].map(async (repository) => {
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<undefined>((resolve) => (timer = setTimeout(resolve, queryTimeoutMs, undefined)));
        try {
          const live = await Promise.race([queryRepositoryProgress(client, repository), late]);
          if (live?.state === 'throttled' && live.detail) found.set(repository, `throttled: ${live.detail}`);
        } catch {
          // No worker answered: the search attribute alone says throttled.
        } finally {
          clearTimeout(timer);
        }
      }),
    );
    return found;
  }

  /**
   * Cancel the running workflow and wait up to `timeoutMs` for it to close. `cancelled: false`
   * with the latest status when none runs; REPOSITORY_NOT_FOUND when it never ran and has no migrations.
   */
  async cancel(key: string, timeoutMs: number): Promise<{ cancelled: boolean; workflowStatus: string | null; pending: boolean }> {
    RepositoryService.checkKey(key);
    const client = await this.deps.client();
    const status = (await describeRepositoryWorkflow(client, key))?.status;
    if (status !== 'RUNNING') {
      if (status === undefined) await this.assertKnown(key);
      return { cancelled: false, workflowStatus: status ?? null, pending: false };
    }
    const closed = await cancelRepositoryWorkflow(client, key, timeoutMs, this.deps.audit);
    return {
      cancelled: closed !== 'pending',
      workflowStatus: closed === 'pending' ? 'RUNNING' : closed.toUpperCase(),
      pending: closed === 'pending',
    };
  }

  /** Progress of one migration (MIGRATION_NOT_FOUND when it does not exist), a repository's, or all: one query. */
  async progress(filter: { name?: string; repository?: string } = {}): Promise<MigrationProgress[]> {
    const all = (await migrationsProgress(await this.pool(), filter)).map((x) => x.progress);
    if (filter.name !== undefined && all.length === 0) throw notFound(filter.name);
    return all;
  }

  /** Migration definitions and states (all, or a repository's), oldest first. */
  async migrations(filter: { repository?: string } = {}): Promise<MigrationRow[]> {
    return listMigrations(await this.pool(), filter);
  }

  /** Pause migrations; see controlMigrations in ./control.ts for who writes the status. */
  async pause(selector: MigrationSelector, options: ControlOptions = {}): Promise<ControlReport> {
    return controlMigrations(await this.controlDeps(), 'pause', selector, options);
  }

  /** Resume paused migrations (and, with `start`, start the repositories that are not running). */
  async resume(selector: MigrationSelector, options: ControlOptions = {}): Promise<ControlReport> {
    return controlMigrations(await this.controlDeps(), 'resume', selector, options);
  }

  /** Put a failed migration back to running and nudge its repository's running workflow. */
  async retry(name: string): Promise<RetryReport> {
    return retryFailedMigration(await this.controlDeps(), name);
  }

  /**
   * The finalize gate: resolves with the migration's progress when it is finished; without `run`
   * throws MIGRATION_NOT_FINISHED while it is not; with `run` resumes (if paused) and runs the rest
   * to the end first. MIGRATION_FAILED for a failed one. See ensureMigrationFinished in ./finalize.ts.
   */
  async ensureFinished(name: string, options: EnsureFinishedOptions = {}): Promise<MigrationProgress> {
    return ensureMigrationFinished(await this.controlDeps(), name, options);
  }

  /**
   * The configure update (knobs, batch size, sub-batch and tuning settings) of a repository's
   * running workflow, or the settings written directly when none runs; see configureRepository.
   */
  async configure(key: string, request: ConfigureRequest): Promise<ConfigureReport> {
    RepositoryService.checkKey(key);
    await this.assertKnown(key);
    return configureRepository(await this.controlDeps(), key, request);
  }

  /** Audit events (bbm audit): oldest first, filtered by migration, repository and time. */
  async audit(filter: AuditFilter = {}): Promise<AuditEvent[]> {
    return listAuditEvents(await this.pool(), filter);
  }

  private async assertKnown(key: string): Promise<void> {
    if (this.hasDatabase && (await listMigrations(await this.deps.db(), { repository: key })).length === 0) throw unknownRepository(key);
  }

  private get hasDatabase(): boolean {
    return this.deps.hasDatabase ?? true;
  }

  private pool(): Promise<Pool> {
    return this.deps.db();
  }

  private async controlDeps(): Promise<{ pool: Pool; client: () => Promise<Client>; taskQueue: string; audit?: AuditContext }> {
    return { pool: await this.pool(), client: this.deps.client, taskQueue: this.deps.taskQueue, audit: this.deps.audit };
  }
}
