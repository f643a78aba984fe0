import type { AuditAction, AuditVia } from '../contract/audit';
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
 * record the action with every selected migration's status before and after. Inside the
 * caller's transaction.
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
  const before: Record<string, string> = {};
  const after: Record<string, string> = {};
  const repositories = new Set<string>();
  for (const [name, { status, repository }] of locked) {
    repositories.add(repository);
    before[name] = migrationStatusName(status);
    after[name] = changed.includes(name) ? migrationStatusName(to) : before[name];
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
    detail: { changed, migrations: Object.keys(before), ...audit.detail },
  });
  return changed;
}

/** A configure's audit context, with the workflow's knobs before and after when it changed some. */
export interface SettingsAudit extends AuditContext {
  knobs?: { before: Record<string, unknown>; after: Record<string, unknown> };
}

/**
 * Record a batch-settings change: `batch_size` (each migration's size before and after) when the
 * batch size was given, `configure` (the other settings given, per migration, and the knobs) when
 * anything else was. Inside the change's transaction.
 */
export async function recordSettingsChange(
  db: Queryable,
  audit: SettingsAudit,
  selector: Selector,
  change: BatchSettingsChange,
  prior: Map<string, Record<string, number | null>>,
  settings: BatchSettings[],
): Promise<void> {
  const names = settings.map((m) => m.name);
  const base = {
    actor: audit.actor,
    via: audit.via,
    repository: selector.repository ?? null,
    migration: selector.name ?? null,
    target: targetOf(selector),
  };
  const { batchSize, ...rest } = change;
  if (batchSize !== undefined) {
    await insertAuditEvent(db, {
      ...base,
      action: 'batch_size',
      before: Object.fromEntries(names.map((n) => [n, prior.get(n)?.batchSize ?? null])),
      after: Object.fromEntries(settings.map((m) => [m.name, m.batchSize])),
      detail: { migrations: names, ...audit.detail },
    });
  }
  const fields = Object.keys(rest).filter((k) => rest[k as keyof typeof rest] !== undefined) as (keyof typeof rest)[];
  if (fields.length === 0 && !audit.knobs) return;
  const pick = (values: Record<string, unknown> | undefined): Record<string, unknown> =>
    Object.fromEntries(fields.map((f) => [f, values?.[f] ?? null]));
  await insertAuditEvent(db, {
    ...base,
    action: 'configure',
    before: { settings: Object.fromEntries(names.map((n) => [n, pick(prior.get(n))])), knobs: audit.knobs?.before ?? {} },
    after: {
      settings: Object.fromEntries(settings.map((m) => [m.name, pick(m as unknown as Record<string, unknown>)])),
      knobs: audit.knobs?.after ?? {},
    },
    detail: { migrations: names, ...audit.detail },
  });
}

/** A migration's definition was inserted: `create`, with what it was created as (no "before"). */
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
      minValue: String(row.minValue),
      maxValue: row.maxValue === null ? null : String(row.maxValue),
    },
    detail: audit.detail ?? null,
  });
}
