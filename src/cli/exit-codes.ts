import { ErrorCode } from '../errors';

/**
 * The CLI's exit codes: the contract with scripts and CI jobs (documented in the README).
 * Every error code maps to exactly one of them; anything bbm did not anticipate is 1.
 */
export const ExitCode = Object.freeze({
  OK: 0,
  UNEXPECTED: 1,
  BAD_INPUT: 2,
  MIGRATION_FAILED: 3,
  ALREADY_RUNNING: 4,
  CANNOT_CONNECT: 5,
  NOT_FOUND: 6,
} as const);
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

const BY_ERROR_CODE: Readonly<Record<ErrorCode, ExitCode>> = Object.freeze({
  [ErrorCode.CONFIG_INVALID]: ExitCode.BAD_INPUT,
  [ErrorCode.INVALID_INPUT]: ExitCode.BAD_INPUT,
  [ErrorCode.INVALID_IDENTIFIER]: ExitCode.BAD_INPUT,
  [ErrorCode.INVALID_TABLE]: ExitCode.BAD_INPUT,
  [ErrorCode.INVALID_COLUMN]: ExitCode.BAD_INPUT,
  [ErrorCode.INVALID_JOB_SIGNATURE]: ExitCode.BAD_INPUT,
  [ErrorCode.INVALID_BATCHING_STRATEGY]: ExitCode.BAD_INPUT,
  [ErrorCode.INVALID_RANGE]: ExitCode.BAD_INPUT,
  [ErrorCode.INVALID_BATCH_SIZE]: ExitCode.BAD_INPUT,
  [ErrorCode.INVALID_SUB_BATCH_SIZE]: ExitCode.BAD_INPUT,
  [ErrorCode.INVALID_SUB_BATCH_PAUSE]: ExitCode.BAD_INPUT,
  [ErrorCode.MISSING_NULL_INDEX]: ExitCode.BAD_INPUT,
  [ErrorCode.MISSING_INDEX]: ExitCode.BAD_INPUT,
  [ErrorCode.MISSING_UNIQUE_KEY]: ExitCode.BAD_INPUT,
  [ErrorCode.PAGINATION_COLUMN_NOT_UNIQUE]: ExitCode.BAD_INPUT,
  [ErrorCode.MIGRATION_EXISTS]: ExitCode.BAD_INPUT,
  [ErrorCode.INVALID_STATE]: ExitCode.BAD_INPUT,
  [ErrorCode.DUPLICATE_WORK_FUNCTION]: ExitCode.BAD_INPUT,
  [ErrorCode.MIGRATION_NOT_FOUND]: ExitCode.NOT_FOUND,
  [ErrorCode.REPOSITORY_NOT_FOUND]: ExitCode.NOT_FOUND,
  [ErrorCode.WORK_FUNCTION_NOT_FOUND]: ExitCode.MIGRATION_FAILED,
  [ErrorCode.WORK_FAILED]: ExitCode.MIGRATION_FAILED,
  [ErrorCode.NO_PROGRESS]: ExitCode.MIGRATION_FAILED,
  [ErrorCode.MAX_JOB_RETRY]: ExitCode.MIGRATION_FAILED,
  [ErrorCode.ALREADY_RUNNING]: ExitCode.ALREADY_RUNNING,
  [ErrorCode.CANNOT_CONNECT]: ExitCode.CANNOT_CONNECT,
  [ErrorCode.LOCK_TIMEOUT]: ExitCode.UNEXPECTED,
  [ErrorCode.LEASE_LOST]: ExitCode.UNEXPECTED,
  [ErrorCode.STALE_STATE]: ExitCode.UNEXPECTED,
  [ErrorCode.CANCELLED]: ExitCode.UNEXPECTED,
  [ErrorCode.TIMEOUT]: ExitCode.UNEXPECTED,
  [ErrorCode.TEMPORAL_CLI_MISSING]: ExitCode.UNEXPECTED,
  [ErrorCode.SERVICE_START_FAILED]: ExitCode.UNEXPECTED,
});

export function exitCodeFor(code: ErrorCode): ExitCode {
  return BY_ERROR_CODE[code] ?? ExitCode.UNEXPECTED;
}
