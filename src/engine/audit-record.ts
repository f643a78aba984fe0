import { changedKnobs, type AuditAction, type AuditVia } from '../contract/audit';
import { insertAuditEvent, lockStatuses } from '../store/audit';
import type { BatchSettings, BatchSettingsChange } from '../store/sub-batches';
import type { MigrationRow, Queryable } from '../store/types';
import { migrationStatusName } from './constants';

/**
 * Who asked for an engine change, so the engine records it in the change's own transaction
 * (bbm.audit_events). `actor: null` records the database role (a schema migration). `action`
 * overrides the one the engine would record (a cancellation's pause is recorded as `cancel`);
 * `detail` is stored with the event.
 */
export interface AuditContext {
  actor: string | null;
  via: AuditVia;
  action?: AuditAction;
  detail?: Record<string, unknown>;
}

export interface Selector {
  name?: string;
  repository?: string;
}

/** What a selector names in an event's `target`: the migration, the repository key, or '*' (every migration). */
export function targetOf(selector: Selector): string {
  return selector.name ?? selector.repository ?? '*';
}

/**
 * Lock the selected migrations, run `change` (which returns the names it moved to `to`), and
 * record the action with the status before and after of the migrations it changed: the ones it
 * selected but left alone (finished ones, already in `to`) are not listed, and an action that
 * changed nothing records nothing. `reasons` names a pause's reason before and after, for
 * migrations whose status stayed but whose reason changed (a cancel's pause made an operator's).
 * Inside the caller's transaction.
 */
export async function auditedTransition(
  db: Queryable,
  audit: AuditContext,
  action: AuditAction,
  selector: Selector,
  change: () => Promise<string[]>,
  to: number,
): Promise<string[]> {
  const locked = await lockStatuses(db, selector);
  const changed = await change();
  if (changed.length === 0) return changed;
  const before: Record<string, string> = {};
  const after: Record<string, string> = {};
  const reasons: Record<string, { before: string; after: string }> = {};
  const repositories = new Set<string>();
  for (const [name, { status, repository, pausedByCancel }] of locked) {
    if (!changed.includes(name)) continue;
    repositories.add(repository);
    before[name] = migrationStatusName(status);
    after[name] = migrationStatusName(to);
    if (status === to && pausedByCancel) reasons[name] = { before: 'cancel', after: 'operator' };
  }
  await insertAuditEvent(db, {
    actor: audit.actor,
    via: audit.via,
    action: audit.action ?? action,
    repository: selector.repository ?? (repositories.size === 1 ? [...repositories][0] : null),
    migration: selector.name ?? null,
    target: targetOf(selector),
    before,
    after,
    detail: {
      changed,
      migrations: Object.keys(before),
      ...(Object.keys(reasons).length > 0 ? { pauseReason: reasons } : {}),
      ...audit.detail,
    },
  });
  return changed;
}

/** A configure's audit context, with the workflow's knobs before and after when it changed some. */
export interface SettingsAudit extends AuditContext {
  knobs?: { before: Record<string, unknown>; after: Record<string, unknown> };
}

/**
 * Record what a batch-settings change CHANGED, once: `batch_size` (size before and after, for the
 * migrations whose size moved), `configure` (per migration, the other settings that moved, and
 * the knobs that moved). A change that moved nothing (the same value again, or only finished
 * migrations selected) records nothing. Inside the change's transaction.
 */
export async function recordSettingsChange(
  db: Queryable,
  audit: SettingsAudit,
  selector: Selector,
  change: BatchSettingsChange,
  prior: Map<string, Record<string, number | null>>,
  settings: BatchSettings[],
): Promise<void> {
  const base = {
    actor: audit.actor,
    via: audit.via,
    repository: selector.repository ?? null,
    migration: selector.name ?? null,
    target: targetOf(selector),
  };
  const { batchSize, ...rest } = change;
  const now = (m: BatchSettings, f: string): unknown => (m as unknown as Record<string, unknown>)[f] ?? null;
  const was = (m: BatchSettings, f: string): unknown => prior.get(m.name)?.[f] ?? null;
  const resized = batchSize === undefined ? [] : settings.filter((m) => was(m, 'batchSize') !== m.batchSize);
  if (resized.length > 0) {
    await insertAuditEvent(db, {
      ...base,
      action: 'batch_size',
      before: Object.fromEntries(resized.map((m) => [m.name, was(m, 'batchSize')])),
      after: Object.fromEntries(resized.map((m) => [m.name, m.batchSize])),
      detail: { migrations: resized.map((m) => m.name), ...audit.detail },
    });
  }
  const given = Object.keys(rest).filter((k) => rest[k as keyof typeof rest] !== undefined);
  const before: Record<string, Record<string, unknown>> = {};
  const after: Record<string, Record<string, unknown>> = {};
  for (const m of settings) {
    const moved = given.filter((f) => was(m, f) !== now(m, f));
    if (moved.length === 0) continue;
    before[m.name] = Object.fromEntries(moved.map((f) => [f, was(m, f)]));
    after[m.name] = Object.fromEntries(moved.map((f) => [f, now(m, f)]));
  }
  const knobs = changedKnobs(audit.knobs);
  if (Object.keys(after).length === 0 && !knobs) return;
  await insertAuditEvent(db, {
    ...base,
    action: 'configure',
    before: { settings: before, knobs: knobs?.before ?? {} },
    after: { settings: after, knobs: knobs?.after ?? {} },
    detail: { migrations: Object.keys(after), ...audit.detail },
  });
}

/** A migration's definition was inserted: `create`, with what it was created as, batch, sub-batch and tuning settings included (no "before"). */
export async function recordCreate(db: Queryable, audit: AuditContext, row: MigrationRow): Promise<void> {
  await insertAuditEvent(db, {
    actor: audit.actor,
    via: audit.via,
    action: audit.action ?? 'create',
    repository: row.repository,
    migration: row.name,
    target: row.name,
    before: null,
    after: {
      status: migrationStatusName(row.status),
      work: row.work,
      table: row.tableName,
      column: row.columnName,
      batchSize: row.batchSize,
      subBatchSize: row.subBatchSize,
      subBatchPauseMs: row.subBatchPauseMs,
      targetJobMs: row.targetJobMs,
      minBatchSize: row.minBatchSize,
      maxBatchSize: row.maxBatchSize,
      batchingStrategy: row.batchingStrategy,
      minValue: String(row.minValue),
      maxValue: row.maxValue === null ? null : String(row.maxValue),
    },
    detail: audit.detail ?? null,
  });
}
