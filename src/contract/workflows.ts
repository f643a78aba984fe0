import type { MigrationProgress } from '../engine/types';
import type { Knobs } from '../knobs';
import type { RepositoryState, RepositoryTotals, WakeRequest, EnqueuerReport } from './messages';
import type { AuditOrigin } from './audit';

/**
 * Workflow type names, inputs and results: what a client (the `bbm` CLI, the enqueuer, the demo,
 * a service, or `temporal workflow start --type ... --input '{...}'`) needs to start bbm's
 * workflows. Every input is one plain JSON object. Pure module: no I/O, safe in the workflow sandbox.
 */
export const WORKFLOW_TYPES = Object.freeze({
  repository: 'repositoryMigration',
  enqueuer: 'enqueuer',
  enqueuerTick: 'enqueuerTick',
  healthCheck: 'healthCheck',
} as const);

// ---- repository workflow ------------------------------------------------------------------

/** Start input. Plain JSON, so `temporal workflow start --input '{"repository":"..."}'` works. */
export interface RepositoryWorkflowInput {
  repository: string;
  /** Overrides of the batch loop's defaults. */
  knobs?: Partial<Knobs>;
  /** Re-run failed migrations first (the anchor's `run`). */
  retryFailed?: boolean;
  /** State carried across continue-as-new; never set it by hand. */
  carried?: RepositoryCarriedState;
}

/** What a control signal asks for: `pause`, `resume` or `retry` (failed migrations run again). */
export type ControlKind = 'pause' | 'resume' | 'retry';

/**
 * A pause, resume or retry request waiting to be applied by the batch loop, in arrival order.
 * Requests that arrive while a run completes or continues as new are applied before it ends, or
 * carried into the next run: never dropped. `origin` says where it came from, for the audit trail.
 */
export type ControlRequest = { kind: ControlKind; migration?: string; origin?: AuditOrigin };

/** What one run of the repository workflow hands to the next at continue-as-new. */
export interface RepositoryCarriedState {
  totals: RepositoryTotals;
  /**
   * Migrations that failed in this execution and are passed over until retried: decimal strings
   * (numbers in runs of versions before bigint ids were strings).
   */
  failedMigrationIds: string[];
  pending: ControlRequest[];
  progress: MigrationProgress[];
  startedAt: string;
}

/** The repository workflow's result. */
export interface RepositorySummary extends RepositoryTotals {
  repository: string;
  state: RepositoryState;
  durationMs: number;
  migrations: MigrationProgress[];
}

/** The repository workflow's signature, for typed `client.workflow.start<RepositoryWorkflow>(WORKFLOW_TYPES.repository, ...)`. */
export type RepositoryWorkflow = (input: RepositoryWorkflowInput) => Promise<RepositorySummary>;

// ---- enqueuer workflow --------------------------------------------------------------------

/** Start input. Plain JSON: `temporal workflow signal-with-start ... --input '{"capacity":5}'`. */
export interface EnqueuerInput {
  /** Repository workflows allowed to run at once (0..1000). @default 5 */
  capacity?: number;
  /** Knobs for the repository workflows it starts. @default {} (their defaults) */
  knobs?: Partial<Knobs>;
  /** Continue as new past this many history events. @default 5000 */
  historyEventBudget?: number;
  /** Re-check this often while repositories run, without a signal. @default 60 */
  recheckSeconds?: number;
  /** State carried across continue-as-new; never set it by hand. */
  carried?: EnqueuerCarriedState;
}

/** What one run of the enqueuer hands to the next at continue-as-new. */
export interface EnqueuerCarriedState {
  tracked: string[];
  closing: Array<{ repository: string; runId?: string; checks?: number }>;
  pending: WakeRequest[];
  report: EnqueuerReport;
  /** Knobs scoped to a repository key prefix. @default {} */
  knobsByPrefix?: Record<string, Partial<Knobs>>;
}

/** The enqueuer never returns (it continues as new); typed for `client.workflow.signalWithStart`. */
export type EnqueuerWorkflow = (input: EnqueuerInput) => Promise<void>;

export interface EnqueuerTickInput {
  /** @default "schedule" */
  reason?: string;
}

/** What the Temporal Schedule starts: wakes the enqueuer with signal-with-start, then ends. */
export type EnqueuerTickWorkflow = (input?: EnqueuerTickInput) => Promise<{ workflowId: string }>;

// ---- health check workflow ----------------------------------------------------------------

/** What `bbm doctor`'s round trip through a worker reports. */
export interface DatabaseInfo {
  serverVersion: string;
  database: string;
  schemaVersion: number;
}

/** The smallest useful workflow: proves a worker polls the queue and reaches Postgres. */
export type HealthCheckWorkflow = (input?: Record<string, never>) => Promise<DatabaseInfo>;
