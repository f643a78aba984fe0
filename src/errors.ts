/**
 * Every error bbm raises on purpose carries a stable `code`. Codes are the contract with users,
 * and ERROR_POLICY below is the one table of what each means and how it is handled. From it are
 * derived: the activity failure mapping (activities/failures.ts: retryable or not), the CLI's
 * exit codes (src/cli/exit-codes.ts), the job errors that fail a repository workflow
 * (JOB_FAILING_CODES), and the README's troubleshooting table (test/unit/error-policy.test.ts
 * checks that the README matches). Messages say what to do next.
 *
 * This module is imported by workflow code too, so it must stay free of Node built-ins.
 */
import type { FenceToken } from './engine/types';

/** The CLI's exit codes: the contract with scripts and CI jobs. Anything bbm did not anticipate is 1. */
export const ExitCode = Object.freeze({
  OK: 0,
  UNEXPECTED: 1,
  BAD_INPUT: 2,
  MIGRATION_FAILED: 3,
  ALREADY_RUNNING: 4,
  CANNOT_CONNECT: 5,
  NOT_FOUND: 6,
  NOT_FINISHED: 7,
} as const);
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export interface ErrorPolicy {
  /** Whether an activity failing with this code is retried by its retry policy (false: non-retryable failure). */
  retryable: boolean;
  /** The CLI's exit code when a command fails with it. */
  exit: ExitCode;
  /** One line: what happened. The README's troubleshooting table adds what to do. */
  meaning: string;
}

const { BAD_INPUT, MIGRATION_FAILED, NOT_FOUND, UNEXPECTED } = ExitCode;

/** Code -> retryable, exit code, meaning. The order is the README's. */
export const ERROR_POLICY = Object.freeze({
  CONFIG_INVALID: { retryable: true, exit: BAD_INPUT, meaning: "A setting or flag cannot be used, or bbm's tables are missing." },
  INVALID_INPUT: {
    retryable: false,
    exit: BAD_INPUT,
    meaning: 'A flag, file, signal, update, query, activity or workflow input is malformed.',
  },
  INVALID_IDENTIFIER: { retryable: false, exit: BAD_INPUT, meaning: "A table, schema or column name breaks PostgreSQL's naming rules." },
  INVALID_TABLE: { retryable: false, exit: BAD_INPUT, meaning: 'The table does not exist, or disappeared while the migration ran.' },
  INVALID_COLUMN: {
    retryable: false,
    exit: BAD_INPUT,
    meaning: 'The column does not exist, is not an integer for a range strategy, or lost its unique index.',
  },
  INVALID_JOB_SIGNATURE: { retryable: false, exit: BAD_INPUT, meaning: 'No work function with that name is registered.' },
  INVALID_BATCHING_STRATEGY: { retryable: false, exit: BAD_INPUT, meaning: 'Unknown batching strategy.' },
  INVALID_RANGE: {
    retryable: false,
    exit: BAD_INPUT,
    meaning: "A bound is above the other or the column's maximum, does not fit the column, or is not an exact integer.",
  },
  INVALID_BATCH_SIZE: {
    retryable: false,
    exit: BAD_INPUT,
    meaning: "Batch size outside 1..1,000,000, or (adaptive batch size on) outside the migration's min/max batch size.",
  },
  INVALID_SUB_BATCH_SIZE: {
    retryable: false,
    exit: BAD_INPUT,
    meaning: "Sub-batch size not an integer in 1..1,000,000, or above the migration's batch size.",
  },
  INVALID_SUB_BATCH_PAUSE: { retryable: false, exit: BAD_INPUT, meaning: 'Pause between sub-batches not an integer in 0..60,000 ms.' },
  MISSING_NULL_INDEX: { retryable: false, exit: BAD_INPUT, meaning: 'The NULL strategy needs a partial index WHERE column IS NULL.' },
  MISSING_UNIQUE_KEY: {
    retryable: false,
    exit: BAD_INPUT,
    meaning: 'The NULL strategy needs a primary key (or a unique index over NOT NULL columns) to name rows.',
  },
  MISSING_INDEX: {
    retryable: false,
    exit: BAD_INPUT,
    meaning: 'The distinct strategy needs a btree index whose first column is the pagination column.',
  },
  PAGINATION_COLUMN_NOT_UNIQUE: {
    retryable: false,
    exit: BAD_INPUT,
    meaning: "The serial strategy's column has no unique index of its own, so a job could hold any number of rows.",
  },
  MIGRATION_EXISTS: { retryable: false, exit: BAD_INPUT, meaning: 'A migration with that name already exists.' },
  MIGRATION_NOT_FOUND: { retryable: false, exit: NOT_FOUND, meaning: 'No migration with that name.' },
  REPOSITORY_NOT_FOUND: { retryable: false, exit: NOT_FOUND, meaning: 'No migration belongs to that repository key.' },
  MIGRATION_NOT_FINISHED: {
    retryable: false,
    exit: ExitCode.NOT_FINISHED,
    meaning: 'A finalize gate found the migration unfinished (or it did not finish within --timeout).',
  },
  MIGRATION_FAILED: { retryable: false, exit: MIGRATION_FAILED, meaning: 'A finalize gate found the migration failed.' },
  INVALID_STATE: { retryable: false, exit: BAD_INPUT, meaning: "The operation does not apply to the migration's current status." },
  DUPLICATE_WORK_FUNCTION: { retryable: false, exit: BAD_INPUT, meaning: 'Two work functions share a name.' },
  WORK_FUNCTION_NOT_FOUND: {
    retryable: false,
    exit: MIGRATION_FAILED,
    meaning: 'This worker lacks the work function (a rolling deploy); the repository waits and tries again.',
  },
  WORK_FAILED: { retryable: true, exit: MIGRATION_FAILED, meaning: 'The work function threw; the job is retried up to maxJobAttempts.' },
  NO_PROGRESS: {
    retryable: true,
    exit: MIGRATION_FAILED,
    meaning: 'A NULL-strategy job left some of its rows NULL, so they would be found again; the attempt was rolled back.',
  },
  MAX_JOB_RETRY: {
    retryable: false,
    exit: MIGRATION_FAILED,
    meaning: 'A job failed maxJobAttempts times: the migration failed (max_job_retry).',
  },
  LOCK_TIMEOUT: {
    retryable: false,
    exit: UNEXPECTED,
    meaning: 'The repository lease is held by another holder; the workflow waits and tries again.',
  },
  LEASE_LOST: {
    retryable: false,
    exit: UNEXPECTED,
    meaning: "A newer attempt owns the repository's lease; this one's writes were refused.",
  },
  STALE_STATE: {
    retryable: false,
    exit: UNEXPECTED,
    meaning: 'A job the workflow had found is gone from the database (it lost recent commits); the workflow finds again.',
  },
  ALREADY_RUNNING: { retryable: true, exit: ExitCode.ALREADY_RUNNING, meaning: "The repository's workflow is already running." },
  CANCELLED: { retryable: false, exit: UNEXPECTED, meaning: 'The operation was cancelled; what it had started was rolled back.' },
  TIMEOUT: {
    retryable: true,
    exit: UNEXPECTED,
    meaning: 'A running workflow did not apply a pause or resume within --timeout; the signal stands.',
  },
  DRY_RUN_TIMEOUT: {
    retryable: true,
    exit: UNEXPECTED,
    meaning: "A dry run's sample waited past its 5 s lock_timeout or 60 s statement_timeout; nothing was written.",
  },
  CANNOT_CONNECT: { retryable: true, exit: ExitCode.CANNOT_CONNECT, meaning: 'Postgres or Temporal cannot be reached.' },
  TEMPORAL_CLI_MISSING: { retryable: false, exit: UNEXPECTED, meaning: 'No temporal binary was found, and no Go to build one.' },
  SERVICE_START_FAILED: { retryable: true, exit: UNEXPECTED, meaning: 'The local Postgres or Temporal dev server did not start.' },
  SETUP_FAILED: { retryable: false, exit: UNEXPECTED, meaning: "bbm setup could not register bbm's search attributes in the namespace." },
} satisfies Record<string, ErrorPolicy>);

export type ErrorCode = keyof typeof ERROR_POLICY;

/** Every code by name: `ErrorCode.INVALID_INPUT === 'INVALID_INPUT'`. */
export const ErrorCode: Readonly<{ [K in ErrorCode]: K }> = Object.freeze(
  Object.fromEntries(Object.keys(ERROR_POLICY).map((code) => [code, code])) as { [K in ErrorCode]: K },
);

export const ERROR_CODES = Object.freeze(Object.keys(ERROR_POLICY) as ErrorCode[]);

/** Codes a retry cannot fix: activities raise them as non-retryable failures. */
export const NON_RETRYABLE_CODES = Object.freeze(ERROR_CODES.filter((code) => !ERROR_POLICY[code].retryable));

/**
 * Job errors that fail the repository workflow instead of being waited out: the non-retryable
 * bad-input codes (the same job with the same input cannot succeed). The workflow handles the
 * other non-retryable codes itself (MAX_JOB_RETRY, LEASE_LOST, STALE_STATE, WORK_FUNCTION_NOT_FOUND).
 */
export const JOB_FAILING_CODES = Object.freeze(NON_RETRYABLE_CODES.filter((code) => ERROR_POLICY[code].exit === ExitCode.BAD_INPUT));

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

// ---- factories of the errors raised in more than one place ------------------------------------

/** INVALID_INPUT: the most common refusal, input that does not fit. */
export function invalidInput(message: string, details: Record<string, unknown> = {}): BbmError {
  return new BbmError(ErrorCode.INVALID_INPUT, message, details);
}

/** LEASE_LOST: `fence` is no longer the repository's current lease (a newer attempt took it). */
export function leaseLost(fence: FenceToken): BbmError {
  return new BbmError(
    ErrorCode.LEASE_LOST,
    `The lease on repository "${fence.repository}" is no longer held with token ${fence.token}; a newer attempt owns it. Nothing was written.`,
    { repository: fence.repository, token: fence.token },
  );
}

/** MIGRATION_NOT_FOUND (exit 6): no migration named `name`. */
export function notFound(name: string): BbmError {
  return new BbmError(ErrorCode.MIGRATION_NOT_FOUND, `No migration named "${name}". List them with \`bbm migrations list\`.`, { name });
}

/** REPOSITORY_NOT_FOUND (exit 6): no migration belongs to `repository`. */
export function unknownRepository(repository: string): BbmError {
  return new BbmError(
    ErrorCode.REPOSITORY_NOT_FOUND,
    `No migrations belong to repository "${repository}". List them with \`bbm migrations list\`.`,
    { repository },
  );
}

/** CONFIG_INVALID: `setting` has `value`, which is not `expected` (e.g. "an integer from 1 to 65535"). */
export function configError(setting: string, value: string, expected: string): BbmError {
  return new BbmError(ErrorCode.CONFIG_INVALID, `Invalid ${setting}: "${value}". Expected ${expected}.`, { setting });
}

/**
 * CANNOT_CONNECT (exit 5): `service` at `address` (never with a password: redact URLs first)
 * did not answer; `hint` says which settings to check.
 */
export function cannotConnect(service: 'Postgres' | 'Temporal', address: string, err: unknown, hint: string): BbmError {
  return new BbmError(
    ErrorCode.CANNOT_CONNECT,
    `Cannot connect to ${service} at ${address}: ${(err as Error)?.message ?? String(err)}. ${hint}`,
    { service, address },
  );
}
