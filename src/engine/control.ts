import type { Pool } from 'pg';
import { BbmError, ErrorCode, notFound } from '../errors';
import { resetRetryBudget } from '../store/jobs';
import { checkSubBatchSettings, subBatchAboveBatch } from '../contract/sub-batches';
import { hasCancelPauses, lockNextFailed, migrationByName, setMigrationStatus, transitionMigrations } from '../store/migrations';
import { updateBatchSettings, type BatchSettingsChange } from '../store/sub-batches';
import { withTransaction } from '../store/transaction';
import { insertAuditEvent, lockBatchSettings } from '../store/audit';
import { auditedTransition, recordSettingsChange, targetOf, type AuditContext, type SettingsAudit } from './audit-record';
import { checkGivenTunerSettings } from './batch-tuner';
import { LIMITS, MigrationStatus, migrationStatusName } from './constants';

/** Which migrations an operator command targets: one by name, or all of a repository (or all). */
export interface MigrationSelector {
  name?: string;
  repository?: string;
}

/**
 * Pause touches active and running migrations only; finished and failed ones keep their status.
 * An operator's pause (not `byCancel`) of a migration a cancel paused makes the pause its own
 * (pause_reason cleared, recorded), so `resume --repository` after the cancel keeps it paused.
 * `byCancel` marks the pause a cancelled repository workflow makes, so that resuming the
 * repository undoes only it (resumeMigrations). With `audit`, the pause is recorded
 * (bbm.audit_events, action `pause` unless audit.action says otherwise) in the same transaction,
 * with every selected migration's status before and after.
 */
export async function pauseMigrations(pool: Pool, selector: MigrationSelector, audit?: AuditContext, byCancel = false): Promise<string[]> {
  const from = [MigrationStatus.ACTIVE, MigrationStatus.RUNNING];
  // An operator's pause also claims the pauses a cancel made, so a repository resume keeps them.
  return transition(pool, selector, 'pause', from, MigrationStatus.PAUSED, audit, {
    pausedByCancel: byCancel,
    claimCancelPauses: !byCancel,
  });
}

/**
 * Paused -> active. One migration by name resumes whatever paused it. A repository's (or all)
 * migrations: when some of them were paused by a cancel, only those resume, and the ones an
 * operator paused before the cancel stay paused (resume them by name); otherwise every paused one
 * resumes. So `resume --repository KEY --start` after a cancel undoes the cancel, not the
 * operator's own pauses (found by a fresh tester). With `audit`, recorded as pauseMigrations does.
 */
export async function resumeMigrations(pool: Pool, selector: MigrationSelector, audit?: AuditContext): Promise<string[]> {
  const pausedByCancel = selector.name === undefined && (await hasCancelPauses(pool, selector.repository));
  return transition(pool, { ...selector, pausedByCancel }, 'resume', [MigrationStatus.PAUSED], MigrationStatus.ACTIVE, audit);
}

async function transition(
  pool: Pool,
  selector: MigrationSelector & { pausedByCancel?: boolean },
  action: 'pause' | 'resume',
  from: MigrationStatus[],
  to: MigrationStatus,
  audit: AuditContext | undefined,
  mark: { pausedByCancel?: boolean; claimCancelPauses?: boolean } = {},
): Promise<string[]> {
  await assertExists(pool, selector);
  if (!audit) return transitionMigrations(pool, selector, from, to, mark);
  return withTransaction(pool, (client) =>
    auditedTransition(client, audit, action, selector, () => transitionMigrations(client, selector, from, to, mark), to),
  );
}

/**
 * A failed migration goes back to running; its jobs keep their stored attempts but get a fresh
 * budget. With `audit`, recorded (action `retry`) in the same transaction.
 */
export async function retryMigration(pool: Pool, name: string, audit?: AuditContext): Promise<void> {
  await withTransaction(pool, async (client) => {
    const { rows } = await client.query('SELECT id, status, repository FROM bbm.migrations WHERE name = $1 FOR UPDATE', [name]);
    const row = rows[0];
    if (!row) throw notFound(name);
    if (Number(row.status) !== MigrationStatus.FAILED) {
      throw new BbmError(
        ErrorCode.INVALID_STATE,
        `Migration "${name}" is ${migrationStatusName(Number(row.status))}; only failed migrations can be retried.`,
        { name },
      );
    }
    await resetRetryBudget(client, String(row.id));
    await setMigrationStatus(client, String(row.id), MigrationStatus.RUNNING);
    if (audit) {
      await insertAuditEvent(client, {
        ...audit,
        action: audit.action ?? 'retry',
        repository: String(row.repository),
        migration: name,
        target: name,
        before: { [name]: 'failed' },
        after: { [name]: 'running' },
        detail: { changed: [name], ...audit.detail },
      });
    }
  });
}

/**
 * The failed migrations of a repository (or the one named) back to running with a fresh attempt
 * budget; returns their names. Others are left alone, so a retry that `bbm migrations retry` has
 * already applied in the database changes nothing here (the workflow's `retry` signal). With
 * `audit`, a retry that put a migration back is recorded in the same transaction; one that
 * changed nothing (the nudge after `bbm migrations retry`, which recorded itself) is not.
 */
export async function retryFailedMigrations(
  pool: Pool,
  selector: MigrationSelector & { repository: string },
  audit?: AuditContext,
): Promise<string[]> {
  await assertExists(pool, selector);
  return withTransaction(pool, async (client) => {
    const retried: string[] = [];
    const seen: string[] = [];
    for (let m = await lockNextFailed(client, selector.repository, seen); m; m = await lockNextFailed(client, selector.repository, seen)) {
      seen.push(m.id);
      if (selector.name !== undefined && m.name !== selector.name) continue;
      await resetRetryBudget(client, m.id);
      await setMigrationStatus(client, m.id, MigrationStatus.RUNNING);
      retried.push(m.name);
    }
    if (audit && retried.length > 0) {
      await insertAuditEvent(client, {
        ...audit,
        action: audit.action ?? 'retry',
        repository: selector.repository,
        migration: selector.name ?? null,
        target: targetOf(selector),
        before: Object.fromEntries(retried.map((n) => [n, 'failed'])),
        after: Object.fromEntries(retried.map((n) => [n, 'running'])),
        detail: { changed: retried.sort(), migrations: retried, ...audit.detail },
      });
    }
    return retried.sort();
  });
}

/**
 * Change the batch size and/or the sub-batch settings of unfinished migrations (one by name, or a
 * repository's), in one transaction: refused with INVALID_BATCH_SIZE, INVALID_SUB_BATCH_SIZE or
 * INVALID_SUB_BATCH_PAUSE before anything changes, including when the result would leave a
 * migration with a sub-batch size above its batch size. `subBatchSize: null` turns sub-batches
 * off. The adaptive batch size's target and bounds likewise (INVALID_INPUT, INVALID_BATCH_SIZE;
 * src/engine/batch-tuner.ts), bounds checked against the stored ones too; with the adaptive
 * batch size on, a batch size outside the migration's minBatchSize..maxBatchSize (given or stored)
 * is refused with INVALID_BATCH_SIZE, as create refuses it. A migration named that is unknown, or
 * another repository's when the selector names one, is MIGRATION_NOT_FOUND; a finished one named
 * with settings to change is INVALID_STATE (nothing to configure). Returns the names of the migrations changed. A job in flight picks the change up at its
 * next sub-batch (the update waits for the sub-batch holding the migration row). With `audit`,
 * what the change moved is recorded in the same transaction: a `batch_size` event for the batch
 * size, a `configure` event for the other settings and any knobs, nothing for values given again
 * (src/engine/audit-record.ts).
 */
export async function changeBatchSettings(
  pool: Pool,
  selector: MigrationSelector,
  change: BatchSettingsChange,
  audit?: SettingsAudit,
): Promise<string[]> {
  const { batchSize } = change;
  if (batchSize !== undefined && (!Number.isInteger(batchSize) || batchSize < LIMITS.MIN_BATCH_SIZE || batchSize > LIMITS.MAX_BATCH_SIZE)) {
    throw new BbmError(
      ErrorCode.INVALID_BATCH_SIZE,
      `Batch size must be an integer from ${LIMITS.MIN_BATCH_SIZE} to ${LIMITS.MAX_BATCH_SIZE}; got ${JSON.stringify(batchSize)}.`,
    );
  }
  const problem = checkSubBatchSettings(change, batchSize);
  if (problem) throw new BbmError(problem.code, problem.message);
  const tuning = checkGivenTunerSettings({
    targetJobMs: change.targetJobMs,
    minBatchSize: change.minBatchSize,
    maxBatchSize: change.maxBatchSize,
  });
  if (tuning) throw new BbmError(tuning.code, `${tuning.message}.`);
  await assertExists(pool, selector, true);
  return withTransaction(pool, async (client) => {
    const prior = await lockBatchSettings(client, selector, MigrationStatus.FINISHED);
    if (selector.name !== undefined && prior.size === 0 && Object.values(change).some((v) => v !== undefined)) {
      throw new BbmError(ErrorCode.INVALID_STATE, `Migration "${selector.name}" is finished; there is nothing to configure.`, {
        name: selector.name,
      });
    }
    const settings = await updateBatchSettings(client, selector, change);
    // Bounds given now against the ones stored: the whole request is refused, nothing changes.
    const crossed = settings.find((m) => m.minBatchSize > m.maxBatchSize);
    if (crossed) {
      throw new BbmError(
        ErrorCode.INVALID_BATCH_SIZE,
        `minBatchSize (${crossed.minBatchSize}) must not exceed maxBatchSize (${crossed.maxBatchSize}) of migration "${crossed.name}"; give both in the same request.`,
        { migration: crossed.name },
      );
    }
    const over = settings.find((m) => m.subBatchSize !== null && m.subBatchSize > m.batchSize);
    if (over) {
      const refusal = subBatchAboveBatch(over.subBatchSize ?? 0, over.batchSize, over.name);
      throw new BbmError(refusal.code, refusal.message, { migration: over.name });
    }
    // As create does (src/engine/definitions.ts): with the adaptive batch size on, a batch size
    // within the migration's own bounds, the stored ones when the request gives none. Checked
    // only when the request touches them; with the tuner off the bounds bound nothing.
    const touchesBounds = [change.batchSize, change.minBatchSize, change.maxBatchSize, change.targetJobMs].some((v) => v !== undefined);
    const outside = touchesBounds
      ? settings.find((m) => m.targetJobMs > 0 && (m.batchSize < m.minBatchSize || m.batchSize > m.maxBatchSize))
      : undefined;
    if (outside) {
      throw new BbmError(
        ErrorCode.INVALID_BATCH_SIZE,
        `Batch size ${outside.batchSize} of migration "${outside.name}" would be outside its minBatchSize..maxBatchSize (${outside.minBatchSize}..${outside.maxBatchSize}); give a batch size within them, or other bounds.`,
        { migration: outside.name },
      );
    }
    if (audit) await recordSettingsChange(client, audit, selector, change, prior, settings);
    return settings.map((m) => m.name);
  });
}

/**
 * A migration named by the selector exists (MIGRATION_NOT_FOUND); with `sameRepository`, it also
 * belongs to the selector's repository when that is given (a configure sent to another
 * repository's workflow is refused rather than changing nothing).
 */
async function assertExists(pool: Pool, selector: MigrationSelector, sameRepository = false): Promise<void> {
  if (selector.name === undefined) return;
  const row = await migrationByName(pool, selector.name);
  if (!row) throw notFound(selector.name);
  if (sameRepository && selector.repository !== undefined && row.repository !== selector.repository) {
    throw new BbmError(
      ErrorCode.MIGRATION_NOT_FOUND,
      `Migration "${selector.name}" belongs to repository "${row.repository}", not "${selector.repository}"; send the request to its own repository.`,
      { name: selector.name, repository: selector.repository },
    );
  }
}

/** Kept here for the engine's callers; the factory lives with the other error factories. */
export { notFound };
