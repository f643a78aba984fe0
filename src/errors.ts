/**
 * Every error bbm raises on purpose carries a stable `code`. Codes are the contract with users:
 * the CLI maps them to exit codes, activities map them to Temporal failure `type`s, and the
 * README's troubleshooting table is keyed by them. Messages say what to do next.
 *
 * This module is imported by workflow code too, so it must stay free of Node built-ins.
 */

export const ErrorCode = Object.freeze({
  /** A setting or a flag has a value bbm cannot use. */
  CONFIG_INVALID: 'CONFIG_INVALID',
  /** Input of a command, signal, update or workflow is malformed. */
  INVALID_INPUT: 'INVALID_INPUT',
  /** A table or column name is not a plain SQL identifier. */
  INVALID_IDENTIFIER: 'INVALID_IDENTIFIER',
  INVALID_TABLE: 'INVALID_TABLE',
  INVALID_COLUMN: 'INVALID_COLUMN',
  /** The work function named by a migration is not registered (anchor: invalid job signature). */
  INVALID_JOB_SIGNATURE: 'INVALID_JOB_SIGNATURE',
  INVALID_BATCHING_STRATEGY: 'INVALID_BATCHING_STRATEGY',
  INVALID_RANGE: 'INVALID_RANGE',
  INVALID_BATCH_SIZE: 'INVALID_BATCH_SIZE',
  /** A sub-batch size that is not an integer in range, or exceeds its batch size. */
  INVALID_SUB_BATCH_SIZE: 'INVALID_SUB_BATCH_SIZE',
  /** A pause between sub-batches that is not an integer number of milliseconds in range. */
  INVALID_SUB_BATCH_PAUSE: 'INVALID_SUB_BATCH_PAUSE',
  /** A NULL-strategy migration needs `CREATE INDEX ... WHERE column IS NULL`. */
  MISSING_NULL_INDEX: 'MISSING_NULL_INDEX',
  /** A distinct-strategy migration needs an index whose first column is the pagination column (for the loose index scan). */
  MISSING_INDEX: 'MISSING_INDEX',
  /** A NULL-strategy migration needs a primary key (or a unique index over NOT NULL columns) to name each job's rows. */
  MISSING_UNIQUE_KEY: 'MISSING_UNIQUE_KEY',
  /** The serial strategy needs a pagination column that is unique on its own, or a job could hold any number of rows. */
  PAGINATION_COLUMN_NOT_UNIQUE: 'PAGINATION_COLUMN_NOT_UNIQUE',
  MIGRATION_EXISTS: 'MIGRATION_EXISTS',
  MIGRATION_NOT_FOUND: 'MIGRATION_NOT_FOUND',
  /** No migration belongs to that repository key. */
  REPOSITORY_NOT_FOUND: 'REPOSITORY_NOT_FOUND',
  /** The operation does not apply to the migration's current status. */
  INVALID_STATE: 'INVALID_STATE',
  DUPLICATE_WORK_FUNCTION: 'DUPLICATE_WORK_FUNCTION',
  /** The work function is not registered on *this* worker: transient during rolling deploys. */
  WORK_FUNCTION_NOT_FOUND: 'WORK_FUNCTION_NOT_FOUND',
  /** A work function threw. */
  WORK_FAILED: 'WORK_FAILED',
  /** A NULL-strategy job left some of its rows NULL, so the next job would find them again: an attempt that failed. */
  NO_PROGRESS: 'NO_PROGRESS',
  MAX_JOB_RETRY: 'MAX_JOB_RETRY',
  /** The repository lease is held by another holder and did not free up in time. */
  LOCK_TIMEOUT: 'LOCK_TIMEOUT',
  /** The caller's fencing token is no longer current: a newer attempt owns the repository. */
  LEASE_LOST: 'LEASE_LOST',
  /**
   * State the workflow carried (a job it found, the migration of that job) is no longer in the
   * database: it went back in time (a crash with asynchronous commit, a failover, a restore). The
   * workflow drops what it carried and finds again; nothing was written.
   */
  STALE_STATE: 'STALE_STATE',
  ALREADY_RUNNING: 'ALREADY_RUNNING',
  /** The operation was cancelled; whatever it had started was rolled back. */
  CANCELLED: 'CANCELLED',
  /**
   * A command waited longer than its timeout for a running workflow to confirm a change (pause,
   * resume). The request stands: the workflow applies it when a worker gets to it.
   */
  TIMEOUT: 'TIMEOUT',
  CANNOT_CONNECT: 'CANNOT_CONNECT',
  TEMPORAL_CLI_MISSING: 'TEMPORAL_CLI_MISSING',
  SERVICE_START_FAILED: 'SERVICE_START_FAILED',
});

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Thrown when bbm refuses or fails an operation for a reason it can name. */
export class BbmError extends Error {
  readonly code: ErrorCode;
  /** Structured context safe to log (never secrets). */
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BbmError';
    this.code = code;
    this.details = details;
  }
}

export function isBbmError(err: unknown, code?: ErrorCode): err is BbmError {
  return err instanceof BbmError && (code === undefined || err.code === code);
}

/** Shorthand for the most common refusal: input that does not fit. */
export function invalidInput(message: string, details: Record<string, unknown> = {}): BbmError {
  return new BbmError(ErrorCode.INVALID_INPUT, message, details);
}

/** Thrown when a named migration does not exist (exit 6). */
export function notFound(name: string): BbmError {
  return new BbmError(ErrorCode.MIGRATION_NOT_FOUND, `No migration named "${name}". List them with \`bbm migrations list\`.`, { name });
}

/** Thrown when no migration belongs to a repository key (exit 6). */
export function unknownRepository(repository: string): BbmError {
  return new BbmError(
    ErrorCode.REPOSITORY_NOT_FOUND,
    `No migrations belong to repository "${repository}". List them with \`bbm migrations list\`.`,
    { repository },
  );
}
