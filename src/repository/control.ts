import type { Client } from '@temporalio/client';
import type { AuditContext } from '../engine/audit-record';
import type { Pool } from 'pg';
import { MigrationStatus, migrationStatusName } from '../engine/constants';
import { pauseMigrations, resumeMigrations, retryMigration, type MigrationSelector } from '../engine/control';
import { BbmError, ErrorCode, isBbmError, notFound, unknownRepository } from '../errors';
import { listMigrations, migrationByName } from '../store/migrations';
import { requestPause } from '../store/pause-requests';
import { statusesByName } from '../store/progress';
import type { MigrationRow } from '../store/types';
import { TRANSITIONS, transitionApplied, transitionTargets, type Transition } from './summary';
import { describeRepositoryWorkflow, signalRepositoryWorkflow, startRepositoryWorkflow } from './workflow';

/**
 * Pause, resume and retry, each with one owner for the status it writes:
 *  - a repository whose workflow runs: the workflow owns the write. The service signals it and
 *    waits until the database shows the new status (the workflow applies it between jobs; for a
 *    pause the service also flags the migrations, so a job in sub-batches stops at its next one
 *    and the workflow applies the pause then: src/store/pause-requests.ts);
 *  - a repository with no running workflow, or Temporal unreachable: the service writes the
 *    database itself (src/engine/control.ts), so pause works while nothing runs.
 * Either way each status is written once per command. Retry resets the failed migration in the
 * database (only the client can: no workflow works on a failed migration) and sends `retry`, a
 * nudge that makes a running workflow stop skipping it.
 */

export interface ControlDeps {
  pool: Pool;
  /** Opens the Temporal client; a BbmError (CANNOT_CONNECT) means "write the database directly, with a warning". */
  client: () => Promise<Client>;
  taskQueue: string;
  /**
   * Who runs the command (CLI or API): direct writes record it in the audit trail in their own
   * transaction, and signals carry it so the workflow records it. @default nothing recorded
   */
  audit?: AuditContext;
}

export interface ControlOptions {
  /** How long to wait for running workflows to apply the change, in ms. @default 60000 */
  timeoutMs?: number;
  /** Resume only: also start the workflow of each selected repository with work to do that is not running. */
  start?: boolean;
}

export interface ControlReport {
  action: Transition;
  /** Migrations this command moved to the new status, sorted. */
  changed: string[];
  /** Repositories whose running workflow applied the change. */
  appliedByWorkflow: string[];
  /** Repositories written directly because no workflow ran for them. */
  writtenDirectly: string[];
  /** Repositories whose workflow got the signal but had not applied it within the timeout. */
  pending: string[];
  /** Repositories whose workflow this command started (resume with `start`). */
  started: string[];
  /** Set when Temporal could not be reached: everything was written directly. */
  warning?: string;
  /**
   * Resume of a repository (or all) after a cancel: migrations left paused because an operator,
   * not the cancel, paused them; resume each by name. Absent when none.
   */
  keptPaused?: string[];
}

/** Default of ControlOptions.timeoutMs: a job in flight finishes before a workflow applies a pause. */
export const DEFAULT_CONTROL_TIMEOUT_MS = 60_000;

/**
 * Pause (active or running -> paused) or resume (paused -> active) one migration, a
 * repository's, or all. Throws MIGRATION_NOT_FOUND / REPOSITORY_NOT_FOUND for an unknown name or
 * key. A workflow that has not applied the change within the timeout is listed in `pending`
 * rather than thrown, so the caller can report what did change first (see controlTimeout).
 */
export async function controlMigrations(
  deps: ControlDeps,
  kind: Transition,
  selector: MigrationSelector,
  options: ControlOptions = {},
): Promise<ControlReport> {
  const { pool } = deps;
  let selected: MigrationRow[];
  if (selector.name !== undefined) {
    const row = await migrationByName(pool, selector.name);
    if (!row) throw notFound(selector.name);
    selected = selector.repository === undefined || row.repository === selector.repository ? [row] : [];
  } else {
    selected = await listMigrations(pool, { repository: selector.repository });
    if (selector.repository !== undefined && selected.length === 0) throw unknownRepository(selector.repository);
  }
  // The rule of resumeMigrations (src/engine/control.ts): after a cancel, only its pauses resume.
  const isPaused = (m: MigrationRow): boolean => m.status === MigrationStatus.PAUSED;
  const keptPaused =
    kind === 'resume' && selector.name === undefined && selected.some((m) => isPaused(m) && m.pausedByCancel)
      ? selected.filter((m) => isPaused(m) && !m.pausedByCancel).map((m) => m.name)
      : [];
  selected = selected.filter((m) => !keptPaused.includes(m.name));
  const targets = transitionTargets(
    kind,
    selected.map((m) => ({ name: m.name, repository: m.repository, status: migrationStatusName(m.status) })),
    selector.name,
  );
  // An operator's pause also claims the pauses a cancel made (pauseMigrations), so a later
  // repository resume keeps them: they are targets too, not "nothing to pause".
  for (const m of kind === 'pause' ? selected.filter((m) => isPaused(m) && m.pausedByCancel) : [])
    targets.set(m.repository, [...(targets.get(m.repository) ?? []), m.name]);
  const report: ControlReport = { action: kind, changed: [], appliedByWorkflow: [], writtenDirectly: [], pending: [], started: [] };
  if (keptPaused.length > 0) report.keptPaused = keptPaused.sort();

  let client: Client | undefined;
  if (targets.size > 0 || (kind === 'resume' && options.start)) {
    try {
      client = await deps.client();
    } catch (err) {
      if (!isBbmError(err)) throw err;
      report.warning = `${err.message} The ${kind} is saved in the database; running workflows apply it at their next job.`;
    }
  }
  const write = (repository: string | undefined): Promise<string[]> => {
    const scope = { name: selector.name, repository };
    return kind === 'pause' ? pauseMigrations(pool, scope, deps.audit) : resumeMigrations(pool, scope, deps.audit);
  };

  if (!client) {
    if (targets.size > 0) {
      report.changed = await write(selector.repository);
      report.writtenDirectly = [...targets.keys()];
    }
    return report;
  }
  const signalled: string[] = [];
  for (const repository of targets.keys()) {
    const running = (await describeRepositoryWorkflow(client, repository))?.status === 'RUNNING';
    if (running && (await signalRepositoryWorkflow(client, repository, kind, selector.name, deps.audit))) {
      signalled.push(repository);
      // After the signal, so a flag never waits for a signal that was not sent: the job in flight
      // stops at its next sub-batch and the workflow applies the pause then, not after the job.
      if (kind === 'pause') await requestPause(pool, { name: selector.name, repository });
    } else {
      report.changed.push(...(await write(repository)));
      report.writtenDirectly.push(repository);
    }
  }
  await awaitWorkflows(deps, client, kind, targets, signalled, options.timeoutMs ?? DEFAULT_CONTROL_TIMEOUT_MS, report, write);
  if (kind === 'resume' && options.start) report.started = await startRunnable(deps, client, selector);
  report.changed.sort();
  report.appliedByWorkflow.sort();
  report.writtenDirectly.sort();
  return report;
}

/**
 * Wait until the database shows each signalled repository's targets out of the `from` statuses.
 * A workflow that closed without applying the request (it was completing when the signal came)
 * can no longer write, so what it left is written directly. State-based and bounded: one status
 * read per round for all repositories, a describe only for those not done yet, rounds 50 ms to
 * 500 ms apart until `timeoutMs`.
 */
async function awaitWorkflows(
  deps: ControlDeps,
  client: Client,
  kind: Transition,
  targets: Map<string, string[]>,
  signalled: string[],
  timeoutMs: number,
  report: ControlReport,
  write: (repository: string) => Promise<string[]>,
): Promise<void> {
  const { from } = TRANSITIONS[kind];
  const inFrom = (status: number | undefined): boolean =>
    status !== undefined && (from as readonly string[]).includes(migrationStatusName(status));
  const record = async (repository: string, statuses: Map<string, number>): Promise<void> => {
    const names = targets.get(repository) ?? [];
    const moved = names.filter(
      (n) => statuses.get(n) !== undefined && transitionApplied(kind, migrationStatusName(statuses.get(n) as number)),
    );
    if (moved.length > 0 || names.every((n) => !inFrom(statuses.get(n)))) {
      report.changed.push(...moved);
      report.appliedByWorkflow.push(repository);
    }
    if (names.some((n) => inFrom(statuses.get(n)))) {
      report.changed.push(...(await write(repository)));
      report.writtenDirectly.push(repository);
    }
  };
  const waiting = new Set(signalled);
  const deadline = Date.now() + timeoutMs;
  let delayMs = 50;
  while (waiting.size > 0) {
    const statuses = await statusesByName(
      deps.pool,
      [...waiting].flatMap((r) => targets.get(r) ?? []),
    );
    for (const repository of [...waiting]) {
      let current = statuses;
      if ((targets.get(repository) ?? []).some((n) => inFrom(current.get(n)))) {
        if ((await describeRepositoryWorkflow(client, repository))?.status === 'RUNNING') continue;
        // Closed: read again, since it may have applied the change just before it closed.
        current = await statusesByName(deps.pool, targets.get(repository) ?? []);
      }
      await record(repository, current);
      waiting.delete(repository);
    }
    if (waiting.size === 0) break;
    if (Date.now() >= deadline) {
      report.pending = [...waiting].sort();
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(delayMs, Math.max(0, deadline - Date.now()))));
    delayMs = Math.min(500, delayMs * 2);
  }
}

/** Start every selected repository that has active or running migrations and no running workflow. */
async function startRunnable(deps: ControlDeps, client: Client, selector: MigrationSelector): Promise<string[]> {
  const runnable = (await listMigrations(deps.pool, { repository: selector.repository }))
    .filter((m) => selector.name === undefined || m.name === selector.name)
    .filter((m) => m.status === MigrationStatus.ACTIVE || m.status === MigrationStatus.RUNNING)
    .map((m) => m.repository);
  const started: string[] = [];
  for (const repository of [...new Set(runnable)].sort()) {
    if ((await startRepositoryWorkflow(client, repository, { taskQueue: deps.taskQueue })).started) started.push(repository);
  }
  return started;
}

export interface RetryReport {
  migration: string;
  repository: string;
  /** The status it has now: always "running". */
  status: string;
  /** True when a running workflow of the repository got the `retry` signal. */
  signalled: boolean;
  warning?: string;
}

/**
 * Put a failed migration back to running with a fresh attempt budget (INVALID_STATE when it has
 * not failed, MIGRATION_NOT_FOUND when it does not exist), then nudge a running workflow of its
 * repository with `retry` so that it stops skipping it in the current run.
 */
export async function retryFailedMigration(deps: ControlDeps, name: string): Promise<RetryReport> {
  await retryMigration(deps.pool, name, deps.audit);
  const row = await migrationByName(deps.pool, name);
  if (!row) throw notFound(name);
  const report: RetryReport = { migration: name, repository: row.repository, status: migrationStatusName(row.status), signalled: false };
  try {
    const client = await deps.client();
    if ((await describeRepositoryWorkflow(client, row.repository))?.status === 'RUNNING')
      report.signalled = await signalRepositoryWorkflow(client, row.repository, 'retry', name, deps.audit);
  } catch (err) {
    if (!isBbmError(err)) throw err;
    report.warning = `${err.message} The retry is saved in the database; the repository picks the migration up at its next run.`;
  }
  return report;
}

/** The TIMEOUT error for a report with pending repositories (thrown by callers after they printed the report). */
export function controlTimeout(report: ControlReport, timeoutMs: number, taskQueue: string): BbmError {
  return new BbmError(
    ErrorCode.TIMEOUT,
    `The running workflow(s) of ${report.pending.join(', ')} got the ${report.action} signal but had not applied it after ${Math.round(timeoutMs / 1000)}s: ` +
      `a job in flight finishes first, or no worker polls task queue ${taskQueue}. The request stands and is applied when a worker gets to it; ` +
      'check with `bbm migrations status`, or wait longer with --timeout.',
    { repositories: report.pending, action: report.action },
  );
}
