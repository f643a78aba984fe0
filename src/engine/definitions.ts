import type { Pool } from 'pg';
import { DEFINITION_CODES, definitionSchema } from '../contract/definition-schema';
import { problemOf } from '../contract/schema-kit';
import { BbmError, ErrorCode } from '../errors';
import { insertMigration, migrationByName } from '../store/migrations';
import type { MigrationRow, Queryable } from '../store/types';
import { BatchingStrategy, MigrationStatus, type BatchingStrategy as Strategy } from './constants';
import { assertIdentifier, formatTable, parseTableName, quoteIdent, quoteTable, type QualifiedName } from './identifiers';
import type { WorkRegistry } from './registry';

/** What a user gives to define a migration (CLI flags, a JSON/YAML file, or code). */
export interface MigrationDefinition {
  /** Unique name, e.g. "2026_11_backfill_digest". */
  name: string;
  /** Exclusivity key; @default the target table ("schema.table"), so one table never has two runners. */
  repository?: string;
  /** Registered work function name. */
  work: string;
  /** "table" or "schema.table". */
  table: string;
  /** Serial: the integer column paginated over (usually id). NULL strategy: the column whose NULLs are filled. */
  column: string;
  /** "serial" or "null" (BatchingStrategy). @default "serial" */
  strategy?: string;
  /** @default 1000 */
  batchSize?: number;
  /** @default 1 */
  minValue?: number;
  /** @default max(column) at definition time */
  maxValue?: number;
  /** Arguments for the work function, validated by it. */
  args?: Record<string, unknown>;
  /** Create paused instead of active. */
  paused?: boolean;
}

interface DefineDeps {
  pool: Pool;
  registry: WorkRegistry;
}

/**
 * Validate everything up front, then insert. Nothing is written unless every check passes, so
 * a bad definition leaves no trace; each refusal has its own error code. The fields' shapes come
 * from the definition schema (src/contract/definition-schema.ts), which refuses unknown fields.
 */
export async function defineMigration(deps: DefineDeps, def: MigrationDefinition): Promise<MigrationRow> {
  const problem = problemOf(definitionSchema, def, 'A migration definition', DEFINITION_CODES);
  if (problem) throw new BbmError(problem.code, `${problem.message}.`, { field: problem.path.join('.') });
  const name = def.name;
  const table = parseTableName(def.table);
  const column = assertIdentifier(def.column, 'Column name');
  const strategy = (def.strategy ?? BatchingStrategy.SERIAL) as Strategy; // one of the two: checked by the schema
  const batchSize = def.batchSize ?? 1000;
  const minValue = def.minValue ?? 1;
  if (def.maxValue !== undefined && minValue > def.maxValue) {
    throw new BbmError(ErrorCode.INVALID_RANGE, `minValue (${minValue}) must not be greater than maxValue (${def.maxValue}).`);
  }
  const repository = def.repository ?? formatTable(table);
  const work = deps.registry.get(def.work);
  if (!work) {
    throw new BbmError(
      ErrorCode.INVALID_JOB_SIGNATURE,
      `No work function named ${JSON.stringify(def.work)} is registered. Registered: ${deps.registry.names().join(', ')}.`,
    );
  }
  const args = def.args ?? {};
  work.validateArgs?.(args, { strategy, column });

  const db = deps.pool;
  await checkTable(db, table);
  const columns = [column, ...(work.requiredColumns?.(args, { strategy, column }) ?? [])];
  for (const c of columns) await checkColumn(db, table, c, strategy === BatchingStrategy.SERIAL && c === column);
  if (strategy === BatchingStrategy.NULL_ROWS) await checkNullIndex(db, table, column);
  if (await migrationByName(db, name))
    throw new BbmError(ErrorCode.MIGRATION_EXISTS, `A migration named "${name}" already exists; choose another name.`, { name });

  const maxValue = strategy === BatchingStrategy.SERIAL ? (def.maxValue ?? (await currentMax(db, table, column, minValue))) : null;
  if (maxValue !== null && minValue > maxValue) {
    throw new BbmError(
      ErrorCode.INVALID_RANGE,
      `minValue (${minValue}) is greater than the column's current maximum (${maxValue}); there is nothing to migrate.`,
    );
  }
  try {
    return await insertMigration(db, {
      name,
      repository,
      jobName: work.name,
      tableName: formatTable(table),
      columnName: column,
      workArgs: args,
      minValue,
      maxValue,
      batchSize,
      batchingStrategy: strategy,
      totalTupleCount: await estimateTuples(db, table, column, strategy, minValue, maxValue),
      status: def.paused ? MigrationStatus.PAUSED : MigrationStatus.ACTIVE,
    });
  } catch (err) {
    if ((err as { code?: string }).code === '23505')
      throw new BbmError(ErrorCode.MIGRATION_EXISTS, `A migration named "${name}" already exists; choose another name.`, { name });
    throw err;
  }
}

export async function tableExists(db: Queryable, table: QualifiedName): Promise<boolean> {
  const { rows } = await db.query(
    "SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')",
    [table.schema, table.name],
  );
  return rows.length > 0;
}

/** Returns the column's type name, or undefined when it does not exist. */
export async function columnType(db: Queryable, table: QualifiedName, column: string): Promise<string | undefined> {
  const { rows } = await db.query(
    `SELECT format_type(a.atttypid, NULL) AS type FROM pg_attribute a
       JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relname = $2 AND a.attname = $3 AND a.attnum > 0 AND NOT a.attisdropped`,
    [table.schema, table.name, column],
  );
  return rows[0]?.type as string | undefined;
}

async function checkTable(db: Queryable, table: QualifiedName): Promise<void> {
  if (!(await tableExists(db, table)))
    throw new BbmError(ErrorCode.INVALID_TABLE, `Table ${formatTable(table)} does not exist (or is not a table).`, {
      table: formatTable(table),
    });
}

async function checkColumn(db: Queryable, table: QualifiedName, column: string, mustBeInteger: boolean): Promise<void> {
  const type = await columnType(db, table, column);
  if (!type)
    throw new BbmError(ErrorCode.INVALID_COLUMN, `Column ${column} does not exist on ${formatTable(table)}.`, {
      table: formatTable(table),
      column,
    });
  if (mustBeInteger && !['smallint', 'integer', 'bigint'].includes(type)) {
    throw new BbmError(
      ErrorCode.INVALID_COLUMN,
      `The serial strategy paginates over an integer column; ${formatTable(table)}.${column} is ${type}.`,
      { column },
    );
  }
}

async function checkNullIndex(db: Queryable, table: QualifiedName, column: string): Promise<void> {
  const { rows } = await db.query(
    `SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relname = $2 AND i.indisvalid AND i.indpred IS NOT NULL
        AND pg_get_expr(i.indpred, i.indrelid) = '(' || quote_ident($3) || ' IS NULL)'`,
    [table.schema, table.name, column],
  );
  if (rows.length === 0) {
    throw new BbmError(
      ErrorCode.MISSING_NULL_INDEX,
      `The NULL strategy needs a partial index on ${formatTable(table)} WHERE ${column} IS NULL, or every batch scans the table. Create it first:\n` +
        `  CREATE INDEX CONCURRENTLY ${table.name}_${column}_null_idx ON ${quoteTable(table)} (${quoteIdent(column)}) WHERE ${quoteIdent(column)} IS NULL;`,
      { table: formatTable(table), column },
    );
  }
}

async function currentMax(db: Queryable, table: QualifiedName, column: string, minValue: number): Promise<number> {
  const { rows } = await db.query(`SELECT max(${quoteIdent(column)}) AS max FROM ${quoteTable(table)}`);
  return rows[0]?.max === null || rows[0]?.max === undefined ? minValue : Number(rows[0].max);
}

/** Planner statistics once, at definition (the anchor's approach); a range-based fallback when never analysed. */
async function estimateTuples(
  db: Queryable,
  table: QualifiedName,
  column: string,
  strategy: string,
  min: number,
  max: number | null,
): Promise<number | null> {
  const { rows } = await db.query(
    `SELECT c.reltuples::bigint AS tuples, (SELECT s.null_frac FROM pg_stats s WHERE s.schemaname = $1 AND s.tablename = $2 AND s.attname = $3) AS null_frac
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2`,
    [table.schema, table.name, column],
  );
  const tuples = Number(rows[0]?.tuples ?? -1);
  if (strategy === BatchingStrategy.SERIAL) return tuples > 0 ? tuples : max === null ? null : max - min + 1;
  const nullFrac = rows[0]?.null_frac;
  if (tuples > 0 && nullFrac !== null && nullFrac !== undefined) return Math.round(tuples * Number(nullFrac));
  const count = await db.query(`SELECT count(*) AS n FROM ${quoteTable(table)} WHERE ${quoteIdent(column)} IS NULL`);
  return Number(count.rows[0]?.n ?? 0);
}
