import { DEFINITION_CODES, definitionSchema } from '../contract/definition-schema';
import { REPOSITORY_KEY_PATTERN } from '../contract/ids';
import { problemOf } from '../contract/schema-kit';
import { checkSubBatchSettings, DEFAULT_SUB_BATCH_PAUSE_MS } from '../contract/sub-batches';
import { BbmError, ErrorCode, invalidInput } from '../errors';
import { insertMigration, migrationByName, type NewMigration } from '../store/migrations';
import { columnMax, countNulls, plannerEstimate } from '../store/target';
import type { MigrationRow, Queryable } from '../store/types';
import { isRangeStrategy, BatchingStrategy, MigrationStatus, type BatchingStrategy as Strategy } from './constants';
import { formatTable, parseIdentifier, parseTableName, type QualifiedName } from './identifiers';
import { exactInteger } from './int8';
import { clampToInt8, span } from './range';
import type { WorkRegistry } from './registry';
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

interface DefineDeps {
  /**
   * Where the checks read and the definition is written: a pool, or a client inside a transaction
   * (a schema migration's, so the definition commits or rolls back with it; see src/schema-migrations.ts).
   */
  pool: Queryable;
  registry: WorkRegistry;
}

/**
 * Validate everything up front, then insert. Nothing is written unless every check passes, so
 * a bad definition leaves no trace; each refusal has its own error code. The fields' shapes come
 * from the definition schema (src/contract/definition-schema.ts), which refuses unknown fields.
 */
export async function defineMigration(deps: DefineDeps, def: MigrationDefinition): Promise<MigrationRow> {
  const planned = await checkDefinition(deps, def);
  try {
    return await insertMigration(deps.pool, planned);
  } catch (err) {
    if ((err as { code?: string }).code === '23505') throw migrationExists(planned.name);
    throw err;
  }
}

/**
 * Every check `defineMigration` makes, reading only: the row it would insert, or the refusal.
 * The dry run (./dry-run.ts) plans from it without writing.
 */
export async function checkDefinition(deps: DefineDeps, def: MigrationDefinition): Promise<NewMigration> {
  const problem = problemOf(definitionSchema, def, 'A migration definition', DEFINITION_CODES);
  if (problem) throw new BbmError(problem.code, `${problem.message}.`, { field: problem.path.join('.') });
  const name = def.name;
  const table = parseTableName(def.table);
  const column = parseIdentifier(def.column, 'Column name');
  const strategy = (def.strategy ?? BatchingStrategy.SERIAL) as Strategy; // a known one: checked by the schema
  const batchSize = def.batchSize ?? 1000;
  // The schema checked each field; this checks the sub-batch size against the batch size.
  const subBatchProblem = checkSubBatchSettings(def, batchSize);
  if (subBatchProblem) throw new BbmError(subBatchProblem.code, subBatchProblem.message);
  const minValue = def.minValue === undefined ? 1n : exactInteger(def.minValue, 'minValue');
  const givenMax = def.maxValue === undefined ? undefined : exactInteger(def.maxValue, 'maxValue');
  if (givenMax !== undefined && minValue > givenMax) {
    throw new BbmError(ErrorCode.INVALID_RANGE, `minValue (${minValue}) must not be greater than maxValue (${givenMax}).`);
  }
  const repository = def.repository ?? defaultRepository(table);
  const work = deps.registry.get(def.work);
  if (!work) {
    throw new BbmError(
      ErrorCode.INVALID_JOB_SIGNATURE,
      `No work function named ${JSON.stringify(def.work)} is registered. Registered: ${deps.registry.names().join(', ')}.`,
    );
  }
  const args = def.args ?? {};
  checkExactNumbers(args, 'args');
  work.validateArgs?.(args, { strategy, column });

  const db = deps.pool;
  await checkTable(db, table);
  const type = await checkColumn(db, table, column);
  for (const c of work.requiredColumns?.(args, { strategy, column }) ?? []) await checkColumn(db, table, c);
  await checkStrategy(db, table, column, type, strategy, [minValue, givenMax]);
  if (await migrationByName(db, name)) throw migrationExists(name);

  const maxValue = isRangeStrategy(strategy) ? (givenMax ?? (await columnMax(db, table, column)) ?? minValue) : null;
  if (maxValue !== null && minValue > maxValue) {
    throw new BbmError(
      ErrorCode.INVALID_RANGE,
      `minValue (${minValue}) is greater than the column's current maximum (${maxValue}); there is nothing to migrate.`,
    );
  }
  return {
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
  };
}

function migrationExists(name: string): BbmError {
  return new BbmError(ErrorCode.MIGRATION_EXISTS, `A migration named "${name}" already exists; choose another name.`, { name });
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
