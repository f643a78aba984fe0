import type { Pool } from 'pg';
import { DEFINITION_CODES, definitionSchema } from '../contract/definition-schema';
import { REPOSITORY_KEY_PATTERN } from '../contract/ids';
import { problemOf } from '../contract/schema-kit';
import { checkSubBatchSettings, DEFAULT_SUB_BATCH_PAUSE_MS } from '../contract/sub-batches';
import { BbmError, ErrorCode, invalidInput } from '../errors';
import { insertMigration, migrationByName, type NewMigration } from '../store/migrations';
import { withTransaction } from '../store/transaction';
import { recordCreate, type AuditContext } from './audit-record';
import { columnBounds, countInRange, countNulls, plannerEstimate } from '../store/target';
import type { MigrationRow, Queryable } from '../store/types';
import { checkTunerSettings, resolveTunerSettings } from './batch-tuner';
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
   * Adaptive batch size: the duration one job should take, in ms (0..3600000; 0 keeps `batchSize`
   * fixed). `batchSize` is the first job's size. @default 500. See src/engine/batch-tuner.ts.
   */
  targetJobMs?: number;
  /** Lower bound of the tuned batch size (1..1000000). @default the lower of 1000 and `batchSize` */
  minBatchSize?: number;
  /** Upper bound of the tuned batch size (1..1000000, at least `minBatchSize`). @default 1000000 */
  maxBatchSize?: number;
  /**
   * First value of the range (serial, distinct): a safe-integer number, a bigint, or a decimal
   * string for values beyond 2^53 ("9007199254740993"); it must fit the column's type. @default min(column) at definition time (1 for an empty table)
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
 * a bad definition leaves no trace; each refusal has its own error code. With `audit`, a
 * `create` event (bbm.audit_events) is inserted with the definition, in the same transaction. The fields' shapes come
 * from the definition schema (src/contract/definition-schema.ts), which refuses unknown fields.
 */
export async function defineMigration(deps: DefineDeps, def: MigrationDefinition, audit?: AuditContext): Promise<MigrationRow> {
  const planned = await checkDefinition(deps, def);
  try {
    if (!audit) return await insertMigration(deps.pool, planned);
    // The definition and its `create` event commit together: in a transaction of our own on a
    // pool, or in the caller's (a schema migration's client).
    const db = deps.pool;
    const insert = async (q: Queryable): Promise<MigrationRow> => {
      const row = await insertMigration(q, planned);
      await recordCreate(q, audit, row);
      return row;
    };
    // A pg Pool counts its clients; a Client or PoolClient (which also has connect()) does not.
    return typeof (db as Pool).totalCount === 'number' ? await withTransaction(db as Pool, insert) : await insert(db);
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
  const tuning = resolveTunerSettings(def.batchSize ?? 1000, def);
  const tuningProblem = checkTunerSettings(tuning);
  if (tuningProblem) throw new BbmError(tuningProblem.code, `${tuningProblem.message}.`);
  // The first job's size: as given, which must lie within the bounds the tuner keeps to after it
  // (found by a fresh tester: a size outside them was stored as given); by default 1000 brought
  // within the bounds given.
  if (def.batchSize !== undefined && (def.batchSize < tuning.minBatchSize || def.batchSize > tuning.maxBatchSize)) {
    throw new BbmError(
      ErrorCode.INVALID_BATCH_SIZE,
      `batchSize ${def.batchSize} is outside minBatchSize..maxBatchSize (${tuning.minBatchSize}..${tuning.maxBatchSize}); give a batch size within them, or other bounds.`,
      { field: 'batchSize' },
    );
  }
  const batchSize = def.batchSize ?? Math.min(Math.max(1000, tuning.minBatchSize), tuning.maxBatchSize);
  // The schema checked each field; this checks the sub-batch size against the batch size.
  const subBatchProblem = checkSubBatchSettings(def, batchSize);
  if (subBatchProblem) throw new BbmError(subBatchProblem.code, subBatchProblem.message);
  const givenMin = def.minValue === undefined ? undefined : exactInteger(def.minValue, 'minValue');
  const givenMax = def.maxValue === undefined ? undefined : exactInteger(def.maxValue, 'maxValue');
  if (givenMin !== undefined && givenMax !== undefined && givenMin > givenMax) {
    throw new BbmError(ErrorCode.INVALID_RANGE, `minValue (${givenMin}) must not be greater than maxValue (${givenMax}).`);
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
  await work.checkTarget?.(db, table, args, { strategy, column });
  await checkStrategy(db, table, column, type, strategy, [givenMin, givenMax]);
  if (await migrationByName(db, name)) throw migrationExists(name);

  const { minValue, maxValue } = await rangeOf(db, table, column, strategy, givenMin, givenMax);
  return {
    name,
    repository,
    work: work.name,
    tableName: formatTable(table),
    columnName: column,
    workArgs: args,
    minValue,
    maxValue,
    batchSize,
    subBatchSize: def.subBatchSize ?? null,
    subBatchPauseMs: def.subBatchPauseMs ?? DEFAULT_SUB_BATCH_PAUSE_MS,
    ...tuning,
    batchingStrategy: strategy,
    totalTupleCount: await estimateRows(db, table, column, strategy, minValue, maxValue, givenMin !== undefined || givenMax !== undefined),
    status: def.paused ? MigrationStatus.PAUSED : MigrationStatus.ACTIVE,
  };
}

function migrationExists(name: string): BbmError {
  return new BbmError(ErrorCode.MIGRATION_EXISTS, `A migration named "${name}" already exists; choose another name.`, { name });
}

/**
 * The range a range strategy covers: the bounds given, and for a bound not given the column's
 * current minimum or maximum. The minimum is the column's, not 1 (GitLab's default), because rows
 * at 0 or below would otherwise be skipped while the migration reports 100 % (found by a user).
 * An empty table gives the one-value range 1..1. The NULL strategy has no range: minValue is
 * stored as given (default 1) and maxValue is null.
 *
 * @throws BbmError INVALID_RANGE when the bounds leave nothing to migrate.
 */
async function rangeOf(
  db: Queryable,
  table: QualifiedName,
  column: string,
  strategy: Strategy,
  givenMin: bigint | undefined,
  givenMax: bigint | undefined,
): Promise<{ minValue: bigint; maxValue: bigint | null }> {
  if (!isRangeStrategy(strategy)) return { minValue: givenMin ?? 1n, maxValue: null };
  const current = givenMin === undefined || givenMax === undefined ? await columnBounds(db, table, column) : { min: null, max: null };
  const minValue = givenMin ?? current.min ?? givenMax ?? 1n;
  const maxValue = givenMax ?? current.max ?? minValue;
  if (minValue > maxValue) {
    const which = givenMin === undefined ? `the column's current minimum (${minValue})` : `minValue (${minValue})`;
    const than = givenMax === undefined ? `the column's current maximum (${maxValue})` : `maxValue (${maxValue})`;
    throw new BbmError(ErrorCode.INVALID_RANGE, `${which} is greater than ${than}; there is nothing to migrate.`);
  }
  return { minValue, maxValue };
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

/** Rows counted at most for an estimate (an index range scan of up to this many entries, or NULL rows of the NULL strategy). */
const UNANALYSED_COUNT_CAP = 1_000_000;

/** Planner statistics once, at definition (the anchor's approach); a fallback when the table was never analysed. */
async function estimateRows(
  db: Queryable,
  table: QualifiedName,
  column: string,
  strategy: string,
  min: bigint,
  max: bigint | null,
  bounded = false,
): Promise<bigint | null> {
  const { tuples, nullFraction } = await plannerEstimate(db, table, column);
  if (isRangeStrategy(strategy)) {
    if (max === null) return tuples > 0n ? tuples : null;
    if (tuples > 0n && !bounded) return tuples;
    // Count, up to a cap, when the range is narrower than the table (the planner's total would
    // make the progress and ETA of `--min-value/--max-value` migrations wrong) or the table was
    // never analysed (the id span alone would claim 2^63 rows for a few sparse ids); both found by users.
    const counted = await countInRange(db, table, column, min, max, UNANALYSED_COUNT_CAP);
    if (counted < BigInt(UNANALYSED_COUNT_CAP)) return counted;
    return tuples > 0n ? tuples : bounded ? counted : clampToInt8(span(min, max));
  }
  // Counted up to the cap first: the planner's null_frac can be stale (a table analysed while the
  // column was still all NULL claimed every row of 100,000 for 50 NULL ones; found by a tester).
  const counted = await countNulls(db, table, column, UNANALYSED_COUNT_CAP);
  if (counted < BigInt(UNANALYSED_COUNT_CAP) || tuples <= 0n || nullFraction === null) return counted;
  const planned = BigInt(Math.round(Number(tuples) * nullFraction));
  return planned > counted ? planned : counted;
}
