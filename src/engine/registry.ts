import type { PoolClient } from 'pg';
import { BbmError, ErrorCode } from '../errors';
import type { QualifiedName } from './identifiers';
import type { Queryable } from '../store/types';

/** What a work function receives for one job. Identifiers are exact names; use the quoted forms in SQL. */
export interface WorkContext {
  /** A client inside the job's transaction: the work commits together with the job's bookkeeping. */
  client: PoolClient;
  table: QualifiedName;
  /** `"schema"."table"`, safe to interpolate. */
  quotedTable: string;
  column: string;
  /** `"column"`, safe to interpolate. */
  quotedColumn: string;
  /** Inclusive range of the pagination column (serial, distinct), exact; null for the NULL strategy. */
  start: bigint | null;
  end: bigint | null;
  /**
   * The rows of this job as a SQL condition and its parameters ($1, $2, ...; number yours after
   * them). Serial and distinct: `"column" BETWEEN $1 AND $2`. NULL strategy: the rows the engine
   * locked for this job, by primary key; after the work each of them must have left the NULL set,
   * or the job fails with NO_PROGRESS.
   */
  where: { sql: string; values: unknown[] };
  batchSize: number;
  strategy: WorkTarget['strategy'];
  /** The migration's `work_args`, validated by the work function's `validateArgs` at definition. */
  args: Record<string, unknown>;
  /** Aborted when the job is cancelled; long work should pass it on or check it. */
  signal: AbortSignal;
}

/** The parts of a definition a work function may depend on. */
export interface WorkTarget {
  strategy: 'serial' | 'distinct' | 'null';
  /** The migration's column, as an exact name. */
  column: string;
}

export interface WorkFunction {
  name: string;
  description: string;
  /** Rows changed (counted as the migration's rows processed; a NULL-strategy job's progress is checked on the table itself). */
  run(ctx: WorkContext): Promise<number>;
  /**
   * Check `work_args` when a migration is defined (throw BbmError INVALID_INPUT). Arguments that
   * name columns are parsed with parseIdentifier here and again in `run` (same PostgreSQL rules,
   * so `Email` means email and `"Email"` means Email) and reach SQL only through quoteIdent.
   */
  validateArgs?(args: Record<string, unknown>, target: WorkTarget): void;
  /** Columns the work function needs besides the migration's column, as exact names (checked to exist at definition). */
  requiredColumns?(args: Record<string, unknown>, target: WorkTarget): string[];
  /**
   * Checks that need the database (such as column types), run at definition and by the dry run
   * after the table and `requiredColumns` were found; throw a BbmError to refuse. `db` only
   * reads. Optional.
   */
  checkTarget?(db: Queryable, table: QualifiedName, args: Record<string, unknown>, target: WorkTarget): Promise<void>;
}

/**
 * The only code bbm will run against user tables: functions registered by name. Migrations
 * refer to them by name, so no signal, update or CLI flag can supply SQL.
 */
export class WorkRegistry {
  private readonly functions = new Map<string, WorkFunction>();

  constructor(functions: WorkFunction[] = []) {
    for (const fn of functions) this.register(fn);
  }

  register(fn: WorkFunction): this {
    if (!/^[a-z][a-z0-9_.-]{0,99}$/.test(fn.name)) {
      throw new BbmError(
        ErrorCode.INVALID_INPUT,
        `Work function name ${JSON.stringify(fn.name)} must be lower-case letters, digits, _ . - (starting with a letter).`,
      );
    }
    if (this.functions.has(fn.name)) {
      throw new BbmError(
        ErrorCode.DUPLICATE_WORK_FUNCTION,
        `A work function named "${fn.name}" is already registered; names must be unique.`,
        { name: fn.name },
      );
    }
    this.functions.set(fn.name, fn);
    return this;
  }

  get(name: string): WorkFunction | undefined {
    return this.functions.get(name);
  }

  has(name: string): boolean {
    return this.functions.has(name);
  }

  names(): string[] {
    return [...this.functions.keys()].sort();
  }
}
