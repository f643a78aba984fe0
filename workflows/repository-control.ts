import { log, patched, upsertMemo, workflowInfo } from '@temporalio/workflow';
import type { MigrationProgress } from '../src/engine/types';
import { ErrorCode } from '../src/errors';
import { failureType } from '../src/contract/failures';
import type { RepositoryState } from '../src/contract/messages';
import type { RepositorySummary } from '../src/contract/workflows';
import { PATCHES } from './patches';
import { bookends, bookkeeping } from './repository-activities';
import type { RepositoryRun } from './repository-state';

/** The first run of an execution: the database's clock and every migration's progress, and the definitions in the memo. */
export async function begin(run: RepositoryRun): Promise<void> {
  if (run.startedAt) return; // a continued run: carried over
  const initial = await bookendsOf(run).repositoryProgress({ repository: run.repository });
  run.startedAt = initial.now;
  run.replaceProgress(initial.migrations);
  // The definitions, for people looking at the workflow in the web UI.
  upsertMemo({ repository: run.repository, migrations: initial.definitions });
}

/** Apply the pending control requests in arrival order; the next find sees their effect. */
export async function applyRequests(run: RepositoryRun): Promise<void> {
  for (const r of run.pending.splice(0)) {
    let changed: string[];
    // Recorded in the audit trail by the activity, in the transaction of the change.
    const audit = patched(PATCHES.auditTrail) ? { origin: r.origin ?? {} } : {};
    try {
      changed = await bookkeeping.controlMigrations({ action: r.kind, repository: run.repository, migration: r.migration, ...audit });
    } catch (err) {
      if (failureType(err) !== ErrorCode.MIGRATION_NOT_FOUND) throw err;
      log.warn(`ignored ${r.kind} signal: no such migration`, { repository: run.repository, migration: r.migration });
      continue;
    }
    log.info(`${r.kind} applied`, { repository: run.repository, migrations: changed });
    if (r.kind === 'retry')
      for (const m of run.progress.values())
        if (r.migration === undefined || r.migration === m.name || changed.includes(m.name)) run.failed.delete(m.id);
  }
  run.drained = false;
}

/**
 * The bookends' kind: local with local-activity knobs, from the patch `local-bookends` on (the
 * patch is asked only then, so a run on regular activities records no marker for it).
 */
function bookendsOf(run: RepositoryRun): ReturnType<typeof bookends> {
  return bookends(run.knobs.localActivities && patched(PATCHES.localBookends));
}

const RUNNABLE = new Set(['active', 'running']);

/**
 * The final decision, from the database: failed if a migration failed, paused if one is paused,
 * finished otherwise. When the database still has runnable work (a retry or resume made outside
 * this workflow, or a failure it lost in a crash), the run carries on instead: undefined.
 */
export async function decide(run: RepositoryRun): Promise<RepositorySummary | undefined> {
  const final = await bookendsOf(run).repositoryProgress({ repository: run.repository });
  run.replaceProgress(final.migrations);
  const migrations = [...run.progress.values()];
  const runnable = migrations.filter((m) => RUNNABLE.has(m.status));
  if (runnable.length > 0 && patched(PATCHES.finalReadDecides)) {
    log.info('the database still has runnable migrations; carrying on', {
      repository: run.repository,
      migrations: runnable.map((m) => m.name),
    });
    for (const m of runnable) run.failed.delete(m.id);
    run.drained = false;
    return undefined;
  }
  const state = finalState(migrations);
  // One publish (one search-attribute upsert) for state and migration together, as histories expect.
  run.state = state;
  run.detail = null;
  run.publish(migrations.find((m) => m.status === state) ?? migrations[migrations.length - 1]);
  const durationMs = Date.parse(final.now) - Date.parse(run.startedAt ?? final.now);
  return { repository: run.repository, state, ...run.totals, durationMs, migrations };
}

function finalState(migrations: MigrationProgress[]): RepositoryState {
  if (migrations.some((m) => m.status === 'failed')) return 'failed';
  if (migrations.some((m) => m.status === 'paused')) return 'paused';
  return 'finished';
}

/** Tell the enqueuer this repository reached a final state, so it can start the next one now. */
export async function notify(run: RepositoryRun, state: RepositoryState): Promise<void> {
  try {
    await bookendsOf(run).notifyEnqueuer({ repository: run.repository, state });
  } catch (err) {
    // The enqueuer is an optimisation for throughput; its absence must not fail the repository.
    log.warn('could not notify the enqueuer', { repository: run.repository, error: String(err) });
  }
}

/**
 * After a cancellation (run non-cancellable): give the lease back, apply the control requests that
 * arrived before it (a pause sent just before a cancel still pauses), pause the repository's
 * migrations that could still run, and say so. Without that pause the enqueuer, woken by the
 * notification, would start the repository again at once and undo the cancel (found by a user
 * trying it); the migrations keep their progress, and `bbm migrations resume --repository <key> --start`
 * continues them. Those pauses are marked as the cancel's, so that resume leaves the migrations an
 * operator had paused before the cancel paused.
 */
export async function cancelled(run: RepositoryRun): Promise<void> {
  if (run.fence) await bookkeeping.releaseLease({ fence: run.fence, minDelayMs: 0, maxDelayMs: 0 });
  if (run.pending.length > 0 && patched(PATCHES.requestsOnCancel)) await applyRequests(run);
  let detail = 'cancelled; the in-flight job was rolled back and the migrations stay resumable';
  if (patched(PATCHES.pauseOnCancel)) {
    // The cancellation itself is recorded (action `cancel`) with this pause, by the sender of the cancel request.
    const audit = patched(PATCHES.auditTrail)
      ? { origin: { runId: workflowInfo().runId, cancel: true }, auditAction: 'cancel' as const }
      : {};
    const reason = patched(PATCHES.markCancelPauses) ? { reason: 'cancel' as const } : {};
    const paused = await bookkeeping.controlMigrations({ action: 'pause', repository: run.repository, ...audit, ...reason });
    if (paused.length > 0)
      log.info('cancel paused the migrations that could still run', { repository: run.repository, migrations: paused });
    detail = `cancelled; the in-flight job was rolled back and ${paused.length} migration(s) paused; continue with: bbm migrations resume --repository ${run.repository} --start`;
  }
  run.setState('cancelled', detail);
  await notify(run, 'cancelled');
}
