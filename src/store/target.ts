import { fromDb, fromDbOrNull } from '../engine/int8';
import { quoteIdent, quoteTable, type QualifiedName } from '../engine/identifiers';
import type { KeyColumn } from './catalog';
import type { Queryable } from './types';

/**
 * Queries on a migration's target table: the range boundaries of the range strategies and the
 * row batches of the NULL strategy. Identifiers are quoted with quoteIdent; values (bigint
 * bounds as `bigint`, key sets as JSON text) travel as parameters and never through a JS number.
 */

/**
 * The column's current minimum and maximum (both null when the table has no non-NULL value).
 * One statement; with an index on the column both ends are index lookups.
 */
export async function columnBounds(
  db: Queryable,
  table: QualifiedName,
  column: string,
): Promise<{ min: bigint | null; max: bigint | null }> {
  const c = quoteIdent(column);
  const { rows } = await db.query(`SELECT min(${c})::text AS min, max(${c})::text AS max FROM ${quoteTable(table)}`);
  return { min: fromDbOrNull(rows[0]?.min), max: fromDbOrNull(rows[0]?.max) };
}

/** Planner statistics: reltuples (-1 when never analysed) and the column's NULL fraction, if known. */
export async function plannerEstimate(
  db: Queryable,
  table: QualifiedName,
  column: string,
): Promise<{ tuples: bigint; nullFraction: number | null }> {
  const { rows } = await db.query(
    `SELECT c.reltuples::bigint::text AS tuples, (SELECT s.null_frac FROM pg_stats s WHERE s.schemaname = $1 AND s.tablename = $2 AND s.attname = $3) AS null_frac
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2`,
    [table.schema, table.name, column],
  );
  const nullFrac = rows[0]?.null_frac;
  return { tuples: fromDb(rows[0]?.tuples ?? -1), nullFraction: nullFrac === null || nullFrac === undefined ? null : Number(nullFrac) };
}

/**
 * Rows whose column is NULL, counted up to `cap` (exact below it, `cap` otherwise). It reads the
 * partial index `WHERE column IS NULL` that the NULL strategy's job finder wants anyway; without
 * one it scans the table until `cap` NULL rows are found.
 */
export async function countNulls(db: Queryable, table: QualifiedName, column: string, cap: number): Promise<bigint> {
  const { rows } = await db.query(
    `SELECT count(*) AS n FROM (SELECT 1 FROM ${quoteTable(table)} WHERE ${quoteIdent(column)} IS NULL LIMIT $1) s`,
    [cap],
  );
  return fromDb(rows[0]?.n ?? 0);
}

/**
 * Rows with the column in [min, max], counted up to `cap` (the count stops there, so a big table
 * costs at most `cap` index entries): exact below the cap, `cap` otherwise.
 */
export async function countInRange(
  db: Queryable,
  table: QualifiedName,
  column: string,
  min: bigint,
  max: bigint,
  cap: number,
): Promise<bigint> {
  const c = quoteIdent(column);
  const { rows } = await db.query(
    `SELECT count(*) AS n FROM (SELECT 1 FROM ${quoteTable(table)} WHERE ${c} BETWEEN $1::bigint AND $2::bigint LIMIT $3) s`,
    [min.toString(), max.toString(), cap],
  );
  return fromDb(rows[0]?.n ?? 0);
}

/**
 * Serial: the `batchSize`-th row's value from `start` (at most `max`), so [start, value] holds
 * exactly batchSize rows of a unique column; null when fewer are left.
 */
export async function rowBoundary(
  db: Queryable,
  table: QualifiedName,
  column: string,
  start: bigint,
  max: bigint,
  batchSize: number,
): Promise<bigint | null> {
  const c = quoteIdent(column);
  const { rows } = await db.query(
    `SELECT ${c}::text AS v FROM ${quoteTable(table)} WHERE ${c} >= $1 AND ${c} <= $2 ORDER BY ${c} LIMIT 1 OFFSET $3`,
    [start, max, batchSize - 1],
  );
  return fromDbOrNull(rows[0]?.v);
}

/**
 * Distinct: the `batchSize`-th distinct value from `start` (at most `max`), walked with a loose
 * index scan (one index probe per distinct value, however many rows share it, the way GitLab's
 * LooseIndexScanBatchingStrategy does); null when fewer are left.
 */
export async function distinctBoundary(
  db: Queryable,
  table: QualifiedName,
  column: string,
  start: bigint,
  max: bigint,
  batchSize: number,
): Promise<bigint | null> {
  const c = quoteIdent(column);
  const t = quoteTable(table);
  const { rows } = await db.query(
    `WITH RECURSIVE walk (value, n) AS (
       (SELECT ${c}, 1 FROM ${t} WHERE ${c} >= $1 AND ${c} <= $2 ORDER BY ${c} LIMIT 1)
       UNION ALL
       SELECT (SELECT ${c} FROM ${t} WHERE ${c} > walk.value AND ${c} <= $2 ORDER BY ${c} LIMIT 1), walk.n + 1
         FROM walk WHERE walk.n < $3::int AND walk.value IS NOT NULL
     )
     SELECT value::text AS v FROM walk WHERE n = $3::int AND value IS NOT NULL`,
    [start, max, batchSize],
  );
  return fromDbOrNull(rows[0]?.v);
}

export async function nullsExist(db: Queryable, table: QualifiedName, column: string): Promise<boolean> {
  const { rows } = await db.query(`SELECT EXISTS (SELECT 1 FROM ${quoteTable(table)} WHERE ${quoteIdent(column)} IS NULL) AS more`);
  return Boolean(rows[0]?.more);
}

/** The rows of one NULL-strategy job: their keys as JSON text (exact, never parsed in JS) and how many. */
export interface NullBatch {
  keys: string;
  count: number;
}

/**
 * Lock the next `batchSize` rows where the column IS NULL and return their keys. SKIP LOCKED:
 * rows an application transaction holds are left for a later job instead of waited for.
 */
export async function lockNullBatch(
  db: Queryable,
  table: QualifiedName,
  column: string,
  key: KeyColumn[],
  batchSize: number,
): Promise<NullBatch> {
  const columns = key.map((k) => quoteIdent(k.name)).join(', ');
  const { rows } = await db.query(
    `SELECT count(*)::int AS n, coalesce(json_agg(b), '[]')::text AS keys
       FROM (SELECT ${columns} FROM ${quoteTable(table)} WHERE ${quoteIdent(column)} IS NULL LIMIT $1 FOR UPDATE SKIP LOCKED) b`,
    [batchSize],
  );
  return { keys: String(rows[0]?.keys ?? '[]'), count: Number(rows[0]?.n ?? 0) };
}

/** SQL true for the rows whose key is in the JSON key set bound to `$param`. */
export function keyInSet(key: KeyColumn[], param: number): string {
  const columns = key.map((k) => quoteIdent(k.name)).join(', ');
  const definitions = key.map((k) => `${quoteIdent(k.name)} ${k.type}`).join(', ');
  return `(${columns}) IN (SELECT ${columns} FROM json_to_recordset($${param}::json) AS k(${definitions}))`;
}

/** How many rows of the key set still have the column NULL (after the work, in its transaction). */
export async function nullsLeft(db: Queryable, table: QualifiedName, column: string, key: KeyColumn[], keys: string): Promise<number> {
  const { rows } = await db.query(
    `SELECT count(*)::int AS n FROM ${quoteTable(table)} WHERE ${keyInSet(key, 1)} AND ${quoteIdent(column)} IS NULL`,
    [keys],
  );
  return Number(rows[0]?.n ?? 0);
}
