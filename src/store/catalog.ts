import type { QualifiedName } from '../engine/identifiers';
import type { Queryable } from './types';

/**
 * Questions to the system catalogs about a migration's target table. Names are exact catalog
 * names (see src/engine/identifiers.ts) and travel as parameters, never as SQL text.
 */

const RELATION = `SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2`;

export async function tableExists(db: Queryable, table: QualifiedName): Promise<boolean> {
  const { rows } = await db.query(`${RELATION} AND c.relkind IN ('r', 'p')`, [table.schema, table.name]);
  return rows.length > 0;
}

/** The column's type name (e.g. "bigint"), or undefined when it does not exist. */
export async function columnType(db: Queryable, table: QualifiedName, column: string): Promise<string | undefined> {
  const { rows } = await db.query(
    `SELECT format_type(a.atttypid, NULL) AS type FROM pg_attribute a
      WHERE a.attrelid = (${RELATION}) AND a.attname = $3 AND a.attnum > 0 AND NOT a.attisdropped`,
    [table.schema, table.name, column],
  );
  return rows[0]?.type as string | undefined;
}

/**
 * Whether PostgreSQL can store a value of column `from` (or of type text when `from` is null: a
 * transform's result) into column `to` of the same table by an assignment, as `UPDATE ... SET
 * to = from` does: same base type, an implicit or assignment cast (pg_cast), or a target of the
 * string category (any type converts to text by I/O at assignment). Domains count as their base
 * types. False also when a column is missing.
 */
export async function assignable(db: Queryable, table: QualifiedName, from: string | null, to: string): Promise<boolean> {
  const { rows } = await db.query(
    `WITH cols AS (
       SELECT a.attname, coalesce(nullif(t.typbasetype, 0), t.oid) AS base
         FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
        WHERE a.attrelid = (${RELATION}) AND a.attnum > 0 AND NOT a.attisdropped),
     s AS (SELECT CASE WHEN $3::text IS NULL THEN 'text'::regtype::oid ELSE (SELECT base FROM cols WHERE attname = $3) END AS oid),
     d AS (SELECT base AS oid FROM cols WHERE attname = $4)
     SELECT s.oid = d.oid
         OR (SELECT typcategory FROM pg_type WHERE oid = d.oid) = 'S'
         OR EXISTS (SELECT 1 FROM pg_cast c WHERE c.castsource = s.oid AND c.casttarget = d.oid AND c.castcontext IN ('a', 'i')) AS ok
       FROM s, d`,
    [table.schema, table.name, from, to],
  );
  return rows[0]?.ok === true;
}

/** A valid partial index WHERE column IS NULL exists (the NULL strategy's search). */
export async function hasNullIndex(db: Queryable, table: QualifiedName, column: string): Promise<boolean> {
  const { rows } = await db.query(
    `SELECT 1 FROM pg_index i WHERE i.indrelid = (${RELATION}) AND i.indisvalid AND i.indpred IS NOT NULL
        AND pg_get_expr(i.indpred, i.indrelid) = '(' || quote_ident($3) || ' IS NULL)'`,
    [table.schema, table.name, column],
  );
  return rows.length > 0;
}

/**
 * SQL true when a valid, non-partial unique index (a primary key and a unique constraint are
 * backed by one) has the column as its only key: then no two rows share a value. `$rel` and
 * `$att` are SQL expressions for the table's oid and the column's name.
 */
export function uniqueColumnSql(rel: string, att: string): string {
  return `EXISTS (SELECT 1 FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
                   WHERE i.indrelid = ${rel} AND i.indisunique AND i.indisvalid AND i.indpred IS NULL
                     AND i.indnkeyatts = 1 AND i.indkey[0] <> 0 AND a.attname = ${att})`;
}

export async function isUniqueColumn(db: Queryable, table: QualifiedName, column: string): Promise<boolean> {
  const { rows } = await db.query(`SELECT ${uniqueColumnSql(`(${RELATION})`, '$3')} AS unique`, [table.schema, table.name, column]);
  return Boolean(rows[0]?.unique);
}

/** A valid, non-partial index whose first key is the column: what a loose index scan walks. */
export async function hasLeadingIndex(db: Queryable, table: QualifiedName, column: string): Promise<boolean> {
  const { rows } = await db.query(
    `SELECT 1 FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_am am ON am.oid = ic.relam
       JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
      WHERE i.indrelid = (${RELATION}) AND i.indisvalid AND i.indpred IS NULL AND am.amname = 'btree' AND a.attname = $3`,
    [table.schema, table.name, column],
  );
  return rows.length > 0;
}

/** A column of a row key, with its type as format_type prints it (valid SQL, quoted where needed). */
export interface KeyColumn {
  name: string;
  type: string;
}

/**
 * The columns that name a row for good: the primary key, else the unique, valid, non-partial
 * index over plain NOT NULL columns with the fewest columns. Undefined when there is none.
 */
export async function rowKey(db: Queryable, table: QualifiedName): Promise<KeyColumn[] | undefined> {
  const { rows } = await db.query(
    `SELECT i.indisprimary, array_agg(a.attname::text ORDER BY k.ord) AS columns,
            array_agg(format_type(a.atttypid, a.atttypmod) ORDER BY k.ord) AS types, bool_and(a.attnotnull) AS not_null
       FROM pg_index i
       CROSS JOIN LATERAL generate_series(0, i.indnkeyatts - 1) AS k(ord)
       LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[k.ord]
      WHERE i.indrelid = (${RELATION}) AND i.indisunique AND i.indisvalid AND i.indpred IS NULL
      GROUP BY i.indexrelid, i.indisprimary
     HAVING bool_and(a.attnum IS NOT NULL)
      ORDER BY i.indisprimary DESC, count(*), i.indexrelid`,
    [table.schema, table.name],
  );
  const key = rows.find((r) => r.indisprimary || r.not_null);
  return key ? (key.columns as string[]).map((name, i) => ({ name, type: String((key.types as string[])[i]) })) : undefined;
}
