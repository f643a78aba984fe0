import type { AuditAction, AuditVia } from '../contract/audit';
import type { Queryable } from './types';

/**
 * bbm.audit_events (src/db/migrations/0007_audit_events.sql): append-only, so there is an insert
 * and a list and nothing else. Callers that change bbm state insert through the same transaction
 * client as the change.
 */

/** One operator action to record. */
export interface NewAuditEvent {
  /** Who: null records the database role (`current_user`), which is who a schema migration runs as. */
  actor: string | null;
  via: AuditVia;
  action: AuditAction;
  repository?: string | null;
  migration?: string | null;
  /** What the action named: a migration, a repository key, '*' (all), 'enqueuer' or a schedule id. */
  target: string;
  before?: unknown;
  after?: unknown;
  detail?: unknown;
}

/** A recorded event; `id` is a decimal string (bigserial), `at` ISO 8601 from the database clock. */
export interface AuditEvent {
  id: string;
  at: string;
  actor: string;
  via: AuditVia;
  action: AuditAction;
  repository: string | null;
  migration: string | null;
  target: string;
  before: unknown;
  after: unknown;
  detail: unknown;
}

export interface AuditFilter {
  migration?: string;
  repository?: string;
  /** Events at or after this instant. */
  since?: Date;
  /** At most this many, the most recent ones (still listed oldest first). @default 1000 */
  limit?: number;
}

const json = (value: unknown): string | null => (value === undefined ? null : JSON.stringify(value));

/** Insert one event; returns its id. */
export async function insertAuditEvent(db: Queryable, e: NewAuditEvent): Promise<string> {
  const { rows } = await db.query(
    `INSERT INTO bbm.audit_events (actor, via, action, repository, migration, target, before, after, detail)
     VALUES (COALESCE($1, current_user), $2, $3, $4, $5, $6, $7::jsonb, $8::jsonb, $9::jsonb) RETURNING id::text`,
    [e.actor, e.via, e.action, e.repository ?? null, e.migration ?? null, e.target, json(e.before), json(e.after), json(e.detail)],
  );
  return String(rows[0].id);
}

/**
 * Events matching the filter, oldest first (by id, the insertion order), the most recent `limit`
 * of them. Both orderings use the bigint id column itself: a bare `ORDER BY id` would sort the
 * text output column ("9" after "49"), which returned the oldest events. A migration filter also
 * matches events on its whole repository or on every migration ('*') that covered it (their
 * detail lists `migrations`). Without a limit the most recent 1000.
 */
export async function listAuditEvents(db: Queryable, filter: AuditFilter = {}): Promise<AuditEvent[]> {
  const { rows } = await db.query(
    `SELECT * FROM (
       SELECT e.id::text AS id, e.id AS seq, to_json(e.at)#>>'{}' AS at, e.actor, e.via, e.action, e.repository, e.migration,
              e.target, e.before, e.after, e.detail
         FROM bbm.audit_events e
        WHERE ($1::text IS NULL OR e.migration = $1 OR (e.migration IS NULL AND e.detail -> 'migrations' ? $1))
          AND ($2::text IS NULL OR e.repository = $2)
          AND ($3::timestamptz IS NULL OR e.at >= $3)
        ORDER BY e.id DESC LIMIT $4) recent
     ORDER BY seq`,
    [filter.migration ?? null, filter.repository ?? null, filter.since ?? null, filter.limit ?? 1000],
  );
  return rows.map((r) => ({
    id: String(r.id),
    at: String(r.at),
    actor: String(r.actor),
    via: r.via as AuditVia,
    action: r.action as AuditAction,
    repository: (r.repository as string | null) ?? null,
    migration: (r.migration as string | null) ?? null,
    target: String(r.target),
    before: r.before ?? null,
    after: r.after ?? null,
    detail: r.detail ?? null,
  }));
}

/** The selected migrations' statuses (numbers), locked for the transaction: an action's "before". */
export async function lockStatuses(
  db: Queryable,
  filter: { repository?: string; name?: string },
): Promise<Map<string, { status: number; repository: string; pausedByCancel: boolean }>> {
  const { rows } = await db.query(
    `SELECT name, status, repository, pause_reason = 'cancel' AS by_cancel FROM bbm.migrations WHERE ($1::text IS NULL OR repository = $1) AND ($2::text IS NULL OR name = $2)
      ORDER BY id FOR UPDATE`,
    [filter.repository ?? null, filter.name ?? null],
  );
  return new Map(
    rows.map((r) => [String(r.name), { status: Number(r.status), repository: String(r.repository), pausedByCancel: r.by_cancel === true }]),
  );
}

/** The batch settings of the selected unfinished migrations, locked: a configure's "before". */
export async function lockBatchSettings(
  db: Queryable,
  filter: { repository?: string; name?: string },
  finished: number,
): Promise<Map<string, Record<string, number | null>>> {
  const { rows } = await db.query(
    `SELECT name, batch_size, sub_batch_size, sub_batch_pause_ms, target_job_ms, min_batch_size, max_batch_size
       FROM bbm.migrations WHERE ($1::text IS NULL OR repository = $1) AND ($2::text IS NULL OR name = $2) AND status <> $3
      ORDER BY id FOR UPDATE`,
    [filter.repository ?? null, filter.name ?? null, finished],
  );
  const n = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
  return new Map(
    rows.map((r) => [
      String(r.name),
      {
        batchSize: n(r.batch_size),
        subBatchSize: n(r.sub_batch_size),
        subBatchPauseMs: n(r.sub_batch_pause_ms),
        targetJobMs: n(r.target_job_ms),
        minBatchSize: n(r.min_batch_size),
        maxBatchSize: n(r.max_batch_size),
      },
    ]),
  );
}
