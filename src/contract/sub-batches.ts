import { ErrorCode } from '../errors';

/**
 * The rules for a migration's sub-batch settings, in one pure module: the CLI flags, the
 * definition (file or code), the `configure` update's validator and the engine all refuse the
 * same values with the same code. No I/O, so the workflow sandbox can load it.
 *
 * Where the defaults come from: GitLab's batched background migrations split every job into
 * sub-batches of SUB_BATCH_SIZE = 100 rows (Gitlab::Database::Migrations::BatchedBackgroundMigrationHelpers)
 * and sleep `pause_ms` = 100 ms between them (column default since GitLab MR 58583). bbm keeps the
 * pause default but leaves the size unset, so a migration behaves as before (one transaction per
 * job) until sub-batches are asked for; 100 is the recommended starting point on a busy table.
 */

export const SUB_BATCH_LIMITS = Object.freeze({
  /** Rows per sub-batch: the batch size's own range. */
  MIN_SIZE: 1,
  MAX_SIZE: 1_000_000,
  /** Pause between sub-batches, ms. It counts toward the job's timeout, hence the modest cap. */
  MIN_PAUSE_MS: 0,
  MAX_PAUSE_MS: 60_000,
});

/** GitLab's `pause_ms` default. */
export const DEFAULT_SUB_BATCH_PAUSE_MS = 100;
/** GitLab's SUB_BATCH_SIZE: recommended in the README, not applied unless set. */
export const GITLAB_SUB_BATCH_SIZE = 100;

/** The settings as a definition or a `configure` request carries them (not yet validated). */
export interface SubBatchSettings {
  /** Rows per sub-batch, at most the batch size; null or absent: the whole job is one transaction. */
  subBatchSize?: number | null;
  /** Milliseconds to sleep between two sub-batches of a job. @default 100 */
  subBatchPauseMs?: number;
}

/** A refusal as plain data (the workflow turns it into an ApplicationFailure, the engine into a BbmError). */
export interface SubBatchProblem {
  code: typeof ErrorCode.INVALID_SUB_BATCH_SIZE | typeof ErrorCode.INVALID_SUB_BATCH_PAUSE;
  message: string;
}

/**
 * Check the sub-batch fields of `settings` that are present. `batchSize`, when known, bounds the
 * size: a sub-batch larger than its job means nothing, so it is refused rather than guessed at
 * (GitLab has the same constraint). Returns the first problem, or undefined.
 */
export function checkSubBatchSettings(
  settings: { subBatchSize?: unknown; subBatchPauseMs?: unknown },
  batchSize?: number,
): SubBatchProblem | undefined {
  const { subBatchSize: size, subBatchPauseMs: pause } = settings;
  if (size !== undefined && size !== null) {
    if (!isIntegerIn(size, SUB_BATCH_LIMITS.MIN_SIZE, SUB_BATCH_LIMITS.MAX_SIZE))
      return sizeProblem(
        `subBatchSize must be an integer from ${SUB_BATCH_LIMITS.MIN_SIZE} to ${SUB_BATCH_LIMITS.MAX_SIZE} (or null for one transaction per job); got ${JSON.stringify(size)}.`,
      );
    if (batchSize !== undefined && size > batchSize) return subBatchAboveBatch(size, batchSize);
  }
  if (pause !== undefined && !isIntegerIn(pause, SUB_BATCH_LIMITS.MIN_PAUSE_MS, SUB_BATCH_LIMITS.MAX_PAUSE_MS)) {
    return {
      code: ErrorCode.INVALID_SUB_BATCH_PAUSE,
      message: `subBatchPauseMs must be an integer from ${SUB_BATCH_LIMITS.MIN_PAUSE_MS} to ${SUB_BATCH_LIMITS.MAX_PAUSE_MS} (milliseconds); got ${JSON.stringify(pause)}.`,
    };
  }
  return undefined;
}

/** The message for a sub-batch size above its batch size (also raised by the store's combined check). */
export function subBatchAboveBatch(subBatchSize: number, batchSize: number, migration?: string): SubBatchProblem {
  return sizeProblem(
    `subBatchSize (${subBatchSize}) must not exceed the batch size (${batchSize})${migration ? ` of migration "${migration}"` : ''}: a sub-batch is part of one job. Lower the sub-batch size or raise the batch size in the same request.`,
  );
}

function sizeProblem(message: string): SubBatchProblem {
  return { code: ErrorCode.INVALID_SUB_BATCH_SIZE, message };
}

function isIntegerIn(value: unknown, min: number, max: number): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;
}
