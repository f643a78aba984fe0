import type { Pool, PoolClient } from 'pg';
import { formatIdent, parseTableName, quoteIdent, quoteTable } from './identifiers';
import { checkDefinition, type MigrationDefinition } from './definitions';
import { isRangeStrategy, BatchingStrategy } from './constants';
import { jobRows, type JobRows } from './job-rows';
import type { WorkRegistry, WorkTarget } from './registry';
import { distinctBoundary, rowBoundary } from '../store/target';
import { explainPlan, type PlanNode } from '../store/explain';
import type { JobRow, MigrationRow } from '../store/types';
import { BbmError, ErrorCode, isBbmError } from '../errors';

/** One statement the work function ran for the sample job, with the planner's plan for it. */
export interface ExplainedQuery {
  sql: string;
  /** `EXPLAIN` as text lines (the sample's values bound); null when the statement cannot be explained. */
  plan: string[] | null;
  warnings: string[];
}

/** What `bbm migrations create --dry-run` prints. Counts and bounds are decimal strings (exact). */
export interface DryRunReport {
  name: string;
  repository: string;
  work: string;
  table: string;
  column: string;
  strategy: string;
  batchSize: number;
  /** The planner's estimate, as a real definition would store it. */
  estimatedRows: string | null;
  /** Jobs needed for `estimatedRows` (distinct: at most this many). */
  estimatedJobs: string | null;
  /** The first job's range (start, end null for the NULL strategy); null when there is nothing to migrate. */
  firstJob: { start: string | null; end: string | null } | null;
  /** Rows the sample job changed (then rolled back) and how long its work took, in ms. */
  sample: { rows: number; durationMs: number } | null;
  /** estimatedJobs x the sample's duration, in seconds: the work alone, without pauses and bookkeeping. */
  estimatedWorkSeconds: number | null;
  queries: ExplainedQuery[];
  /** Every query's warnings, plus the plan's. */
  warnings: string[];
}

/**
 * Plan a migration without writing anything: the definition's checks (same codes as
 * defineMigration), the row and job estimates and the first job's range, then the first job's
 * work run once in a transaction that is always rolled back. The work function's statements are
 * captured through a wrapped client and each is EXPLAINed (auto_explain needs a superuser); a
 * sequential scan of the target table, or a range job whose plan uses no index on the
 * pagination column, is a warning. `lock_timeout` 5s and `statement_timeout` 60s bound the
 * sample, which takes the same row locks a job would, briefly. Nothing is inserted (no sequence
 * is advanced either).
 *
 * Throws what defineMigration throws, and for the sample: NO_PROGRESS (a NULL-strategy sample
 * left rows NULL), WORK_FAILED (the work function threw, such as a type mismatch, SQLSTATE in the
 * message) and DRY_RUN_TIMEOUT (the lock or statement timeout above).
 */
export async function dryRunMigration(deps: { pool: Pool; registry: WorkRegistry }, def: MigrationDefinition): Promise<DryRunReport> {
  const planned = await checkDefinition(deps, def);
  const work = deps.registry.get(planned.work);
  if (!work) throw new BbmError(ErrorCode.INVALID_JOB_SIGNATURE, `No work function named "${planned.work}" is registered.`);
  const table = parseTableName(planned.tableName);
  const strategy = planned.batchingStrategy as WorkTarget['strategy'];
  const rows = planned.totalTupleCount;
  const jobs = rows === null ? null : (rows + BigInt(planned.batchSize) - 1n) / BigInt(planned.batchSize);
  const report: DryRunReport = {
    name: planned.name,
    repository: planned.repository,
    work: planned.work,
    table: planned.tableName,
    column: planned.columnName,
    strategy,
    batchSize: planned.batchSize,
    estimatedRows: rows === null ? null : String(rows),
    estimatedJobs: jobs === null ? null : String(jobs),
    firstJob: null,
    sample: null,
    estimatedWorkSeconds: null,
    queries: [],
    warnings: [],
  };
  const client = await deps.pool.connect();
  try {
    await client.query('BEGIN');
    await client.query(`SET LOCAL lock_timeout = '5s'`);
    await client.query(`SET LOCAL statement_timeout = '60s'`);
    let start: bigint | null = null;
    let end: bigint | null = null;
    if (isRangeStrategy(strategy) && planned.maxValue !== null) {
      const boundary = strategy === BatchingStrategy.SERIAL ? rowBoundary : distinctBoundary;
      start = planned.minValue;
      end = (await boundary(client, table, planned.columnName, start, planned.maxValue, planned.batchSize)) ?? planned.maxValue;
    }
    const migration = { ...planned, id: '0' } as unknown as MigrationRow;
    const job = { id: '0', minValue: start, maxValue: end } as JobRow;
    const found = await jobRows(client, migration, job, table);
    if (found.empty) return report;
    report.firstJob = { start: start === null ? null : String(start), end: end === null ? null : String(end) };

    const captured: { text: string; values: unknown[] }[] = [];
    const started = performance.now();
    const changed = await sampleWork(() =>
      work.run({
        client: recording(client, captured),
        table,
        quotedTable: quoteTable(table),
        column: planned.columnName,
        quotedColumn: quoteIdent(planned.columnName),
        start,
        end,
        where: found.where,
        batchSize: planned.batchSize,
        strategy,
        args: planned.workArgs,
        signal: new AbortController().signal,
      }),
    );
    const durationMs = performance.now() - started;
    await sampleProgress(found, changed, planned.columnName);
    report.sample = { rows: changed, durationMs: Math.round(durationMs * 10) / 10 };
    // Millisecond precision: a small table's whole estimate can be well under 0.1 s.
    if (jobs !== null) report.estimatedWorkSeconds = Math.round(Number(jobs) * durationMs) / 1000;
    for (const q of captured) report.queries.push(await explain(client, q, table.name, planned.columnName, isRangeStrategy(strategy)));
    report.warnings = report.queries.flatMap((q) => q.warnings);
    if (report.queries.length === 0) report.warnings.push('The work function ran no query on the sample job; nothing to explain.');
    return report;
  } catch (err) {
    throw dryRunTimeout(err) ?? err;
  } finally {
    await client.query('ROLLBACK').catch(() => undefined);
    client.release();
  }
}

/** The sample work; what the work function throws other than a BbmError (e.g. PostgreSQL's 42804 type mismatch) is WORK_FAILED, as in a real job. */
async function sampleWork(run: () => Promise<number>): Promise<number> {
  try {
    return await run();
  } catch (err) {
    if (isBbmError(err) || dryRunTimeout(err)) throw err;
    const sqlState = (err as { code?: unknown }).code;
    throw new BbmError(
      ErrorCode.WORK_FAILED,
      `Dry run: the work function failed on the first job, so every job would fail the same way: ${(err as Error).message ?? String(err)}` +
        `${typeof sqlState === 'string' ? ` (SQLSTATE ${sqlState})` : ''}. Fix the work function or its arguments (for example a column of another type), then try again.`,
      typeof sqlState === 'string' ? { sqlState } : {},
      { cause: err },
    );
  }
}

/** PostgreSQL's lock_timeout (55P03) and statement_timeout (57014) errors of the sample as DRY_RUN_TIMEOUT; undefined for any other error. */
function dryRunTimeout(err: unknown): BbmError | undefined {
  const sqlState = (err as { code?: unknown } | null)?.code;
  if (sqlState !== '55P03' && sqlState !== '57014') return undefined;
  const what =
    sqlState === '55P03'
      ? "waited more than 5 s (its lock_timeout) for a lock another transaction holds on the first job's rows or table"
      : 'ran longer than 60 s (its statement_timeout)';
  return new BbmError(
    ErrorCode.DRY_RUN_TIMEOUT,
    `Dry run: the sample ${what}; nothing was written. Try again when that transaction has finished (see pg_stat_activity), or check the work query's plan.`,
    { sqlState },
    { cause: err },
  );
}

/**
 * The NULL strategy's progress check, as a real job runs it after its work: rows of the sample
 * still NULL would make the first job fail with no_progress, so the dry run refuses with
 * NO_PROGRESS instead of reporting a sample that looks fine.
 */
async function sampleProgress(found: JobRows, changed: number, column: string): Promise<void> {
  try {
    await found.checkProgress(changed);
  } catch (err) {
    if (!isBbmError(err, ErrorCode.NO_PROGRESS)) throw err;
    const { stillNull, rows } = err.details as { stillNull?: number; rows?: number };
    throw new BbmError(
      ErrorCode.NO_PROGRESS,
      `Dry run: the first job would fail with no_progress: ${stillNull} of its ${rows} row(s) still have ${formatIdent(column)} IS NULL after the work ` +
        `(which reported ${changed} row(s) changed), so every job would pick them again. The work must fill (or delete) every row of ctx.where: ` +
        'fix the data (or the work function) before creating the migration.',
      err.details,
      { cause: err },
    );
  }
}

/** The client with its text queries recorded (the work function's; the engine's own go to `client` directly). */
function recording(client: PoolClient, into: { text: string; values: unknown[] }[]): PoolClient {
  return new Proxy(client, {
    get(target, prop, receiver) {
      if (prop !== 'query') return Reflect.get(target, prop, receiver);
      return (text: unknown, values?: unknown[]) => {
        if (typeof text === 'string') into.push({ text, values: values ?? [] });
        else if (text && typeof text === 'object' && 'text' in text) {
          const config = text as { text: string; values?: unknown[] };
          into.push({ text: config.text, values: config.values ?? values ?? [] });
        }
        return (target.query as (...args: unknown[]) => unknown)(text, values);
      };
    },
  });
}

async function explain(
  client: PoolClient,
  q: { text: string; values: unknown[] },
  tableName: string,
  column: string,
  range: boolean,
): Promise<ExplainedQuery> {
  const explained = await explainPlan(client, q.text, q.values);
  if (!explained) return { sql: q.text, plan: null, warnings: [] };
  const nodes: PlanNode[] = [];
  const walk = (n: PlanNode): void => {
    nodes.push(n);
    for (const child of n.Plans ?? []) walk(child);
  };
  walk(explained.root);
  const onTable = nodes.filter((n) => n['Relation Name'] === tableName);
  const warnings: string[] = [];
  if (onTable.some((n) => n['Node Type'] === 'Seq Scan'))
    warnings.push(
      `Sequential scan of ${tableName} in: ${oneLine(q.text)}. Every job would read the whole table; add an index the query can use.`,
    );
  const usesColumn = (n: PlanNode): boolean =>
    [n['Index Cond'], n['Recheck Cond']].some((c) => typeof c === 'string' && (c.includes(column) || c.includes(quoteIdent(column))));
  if (range && onTable.length > 0 && !onTable.some(usesColumn))
    warnings.push(`No index on the pagination column ${quoteIdent(column)} is used by: ${oneLine(q.text)}.`);
  return { sql: q.text, plan: explained.text, warnings };
}

function oneLine(sql: string): string {
  const s = sql.replace(/\s+/g, ' ').trim();
  return s.length > 160 ? `${s.slice(0, 157)}...` : s;
}
