import type { Pool } from 'pg';
import { checkSubBatchSettings, DEFAULT_SUB_BATCH_PAUSE_MS } from '../contract/sub-batches';
import { BbmError, ErrorCode, invalidInput } from '../errors';
import { insertMigration, migrationByName } from '../store/migrations';
import { columnMax, countNulls, plannerEstimate } from '../store/target';
import type { MigrationRow, Queryable } from '../store/types';
import { isKnownStrategy, isRangeStrategy, BatchingStrategy, LIMITS, MigrationStatus } from './constants';
import { formatTable, parseIdentifier, parseTableName, type QualifiedName } from './identifiers';
import { exactInteger } from './int8';
import { clampToInt8, span } from './range';
import type { WorkRegistry } from './registry';
import { REPOSITORY_KEY_PATTERN } from '../contract/ids';
import { checkColumn, checkStrategy, checkTable } from './target-checks';

/** What a user gives to define a migration (CLI flags, a JSON/YAML file, or code). */
export interface MigrationDefinition {
  /** Unique name, e.g. "2026_11_backfill_digest". */
  name: string;
  /** Exclusivity key; @default the target table ("schema.table"), so one table never has two runners. */
  repository?: string;
  /** Registered work function name. */
  work: string;
  /** "table" or "schema.table", by PostgreSQL's rules: unquoted parts fold to lower case, "quoted" parts are kept exactly. */
  table: string;
  /**
   * serial: a unique integer column paginated over (usually id). distinct: a non-unique integer
   * column, one job per batchSize distinct values. null: the column whose NULLs are filled.
   * Same naming rules as `table`.
   */
  column: string;
  /** "serial", "distinct" or "null". @default "serial" */
  strategy?: string;
  /** Rows per job (distinct: distinct values per job). @default 1000 */
  batchSize?: number;
  /**
   * Rows per sub-batch (each commits on its own, so row locks last one sub-batch), at most
   * `batchSize`. @default null: each job is one transaction. See src/contract/sub-batches.ts.
   */
  subBatchSize?: number | null;
  /** Milliseconds between two sub-batches of a job (0..60000). @default 100 (GitLab's pause_ms) */
  subBatchPauseMs?: number;
  /**
   * First value of the range (serial, distinct): a safe-integer number, a bigint, or a decimal
   * string for values beyond 2^53 ("9007199254740993"); it must fit the column's type. @default 1
   */
  minValue?: number | bigint | string;
  /** Last value of the range, in the same forms. @default max(column) at definition time */
  maxValue?: number | bigint | string;
  /** Arguments for the work function, validated by it. */
  args?: Record<string, unknown>;
  /** Create paused instead of active. */
  paused?: boolean;
}

export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,199}$/;

interface DefineDeps {
  pool: Pool;
  registry: WorkRegistry;
}

/**
 * Validate everything up front, then insert. Nothing is written unless every check passes, so
 * a bad definition leaves no trace; each refusal has its own error code.
 */
export async function defineMigration(deps: DefineDeps, def: MigrationDefinition): Promise<MigrationRow> {
  if (def === null || typeof def !== 'object') throw invalidInput('A migration definition must be an object.');
  const name = checkPattern(def.name, NAME_PATTERN, 'name', 'letters, digits, _ . : - (up to 200, starting with a letter or digit)');
  const table = parseTableName(def.table);
  const column = parseIdentifier(def.column, 'Column name');
  const strategy = def.strategy ?? BatchingStrategy.SERIAL;
  if (!isKnownStrategy(strategy)) {
    throw new BbmError(
      ErrorCode.INVALID_BATCHING_STRATEGY,
      `Unknown batching strategy ${JSON.stringify(strategy)}: use "serial" (ranges of a unique column), "distinct" (ranges of distinct values) or "null" (rows where the column IS NULL).`,
    );
  }
  const batchSize = def.batchSize ?? 1000;
  if (!Number.isInteger(batchSize) || batchSize < LIMITS.MIN_BATCH_SIZE || batchSize > LIMITS.MAX_BATCH_SIZE) {
    throw new BbmError(
      ErrorCode.INVALID_BATCH_SIZE,
      `Batch size must be an integer from ${LIMITS.MIN_BATCH_SIZE} to ${LIMITS.MAX_BATCH_SIZE}; got ${JSON.stringify(def.batchSize)}.`,
    );
  }
  const subBatchProblem = checkSubBatchSettings(def, batchSize);
  if (subBatchProblem) throw new BbmError(subBatchProblem.code, subBatchProblem.message);
  const minValue = def.minValue === undefined ? 1n : exactInteger(def.minValue, 'minValue');
  const givenMax = def.maxValue === undefined ? undefined : exactInteger(def.maxValue, 'maxValue');
  if (givenMax !== undefined && minValue > givenMax) {
    throw new BbmError(ErrorCode.INVALID_RANGE, `minValue (${minValue}) must not be greater than maxValue (${givenMax}).`);
  }
  const repository =
    def.repository === undefined
      ? defaultRepository(table)
      : checkPattern(def.repository, REPOSITORY_KEY_PATTERN, 'repository', 'letters, digits, _ . : / @ - (up to 200)');
  const work = deps.registry.get(String(def.work));
  if (!work) {
    throw new BbmError(
      ErrorCode.INVALID_JOB_SIGNATURE,
      `No work function named ${JSON.stringify(def.work)} is registered. Registered: ${deps.registry.names().join(', ')}.`,
    );
  }
  const args = def.args ?? {};
  if (typeof args !== 'object' || Array.isArray(args)) throw invalidInput('args must be a JSON object.');
  checkExactNumbers(args, 'args');
  work.validateArgs?.(args, { strategy, column });

  const db = deps.pool;
  await checkTable(db, table);
  const type = await checkColumn(db, table, column);
  for (const c of work.requiredColumns?.(args, { strategy, column }) ?? []) await checkColumn(db, table, c);
  await checkStrategy(db, table, column, type, strategy, [minValue, givenMax]);
  if (await migrationByName(db, name))
    throw new BbmError(ErrorCode.MIGRATION_EXISTS, `A migration named "${name}" already exists; choose another name.`, { name });

  const maxValue = isRangeStrategy(strategy) ? (givenMax ?? (await columnMax(db, table, column)) ?? minValue) : null;
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
      subBatchSize: def.subBatchSize ?? null,
      subBatchPauseMs: def.subBatchPauseMs ?? DEFAULT_SUB_BATCH_PAUSE_MS,
      batchingStrategy: strategy,
      totalTupleCount: await estimateRows(db, table, column, strategy, minValue, maxValue),
      status: def.paused ? MigrationStatus.PAUSED : MigrationStatus.ACTIVE,
    });
  } catch (err) {
    if ((err as { code?: string }).code === '23505')
      throw new BbmError(ErrorCode.MIGRATION_EXISTS, `A migration named "${name}" already exists; choose another name.`, { name });
    throw err;
  }
}

/** The table's schema and exact name, when that is a valid key (a table named with odd characters needs an explicit one). */
function defaultRepository(table: QualifiedName): string {
  const key = `${table.schema}.${table.name}`;
  if (!REPOSITORY_KEY_PATTERN.test(key)) {
    throw invalidInput(
      `The repository key defaults to the table, but ${JSON.stringify(key)} is not a valid key; pass one (letters, digits, _ . : / @ -), e.g. --repository my-backfill.`,
      { field: 'repository' },
    );
  }
  return key;
}

function checkPattern(value: unknown, pattern: RegExp, what: string, expected: string): string {
  if (typeof value !== 'string' || !pattern.test(value))
    throw invalidInput(`Migration ${what} ${JSON.stringify(value)} is invalid: use ${expected}.`, { field: what });
  return value;
}

/** An integer beyond 2^53 in args was rounded on its way in (JSON, YAML, code): refuse it rather than store another value. */
function checkExactNumbers(value: unknown, path: string): void {
  if (typeof value === 'number' && Number.isInteger(value) && !Number.isSafeInteger(value)) {
    throw invalidInput(
      `${path} is ${value}, an integer beyond 2^53 that has already lost digits; write it as a decimal string, e.g. "9007199254740993".`,
      { field: path },
    );
  }
  if (value !== null && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) checkExactNumbers(v, Array.isArray(value) ? `${path}[${k}]` : `${path}.${k}`);
}

/** Planner statistics once, at definition (the anchor's approach); a fallback when the table was never analysed. */
async function estimateRows(
  db: Queryable,
  table: QualifiedName,
  column: string,
  strategy: string,
  min: bigint,
  max: bigint | null,
): Promise<bigint | null> {
  const { tuples, nullFraction } = await plannerEstimate(db, table, column);
  if (isRangeStrategy(strategy)) return tuples > 0n ? tuples : max === null ? null : clampToInt8(span(min, max));
  if (tuples > 0n && nullFraction !== null) return BigInt(Math.round(Number(tuples) * nullFraction));
  return countNulls(db, table, column);
}
