import type { PoolClient } from 'pg';
import { BbmError, ErrorCode } from '../errors';
import type { QualifiedName } from './identifiers';

/** What a work function receives for one job. Identifiers are validated; use the quoted forms in SQL. */
export interface WorkContext {
  /** A client inside the job's transaction: the work commits together with the job's bookkeeping. */
  client: PoolClient;
  table: QualifiedName;
  /** `"schema"."table"`, safe to interpolate. */
  quotedTable: string;
  column: string;
  /** `"column"`, safe to interpolate. */
  quotedColumn: string;
  /** Inclusive id range (serial strategy); null for the NULL-rows strategy. */
  start: number | null;
  end: number | null;
  batchSize: number;
  strategy: 'serial' | 'null';
  /** The migration's `work_args`, validated by the work function's `validateArgs` at definition. */
  args: Record<string, unknown>;
  /** Aborted when the job is cancelled; long work should pass it on or check it. */
  signal: AbortSignal;
}

/** The parts of a definition a work function may depend on. */
export interface WorkTarget {
  strategy: 'serial' | 'null';
  column: string;
}

export interface WorkFunction {
  name: string;
  description: string;
  /** Rows changed. */
  run(ctx: WorkContext): Promise<number>;
  /**
   * Check `work_args` when a migration is defined (throw BbmError INVALID_INPUT). Identifier
   * arguments must be validated here so `run` can quote them safely.
   */
  validateArgs?(args: Record<string, unknown>, target: WorkTarget): void;
  /** Columns the work function needs besides the migration's column (checked to exist at definition). */
  requiredColumns?(args: Record<string, unknown>, target: WorkTarget): string[];
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
