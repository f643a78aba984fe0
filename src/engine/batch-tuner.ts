import { ErrorCode } from '../errors';

/**
 * Adaptive batch size: after every job, move the batch size toward the size whose job would take
 * `targetJobMs`, the way GitLab's batched background migrations tune theirs.
 *
 * - The cost of a row is smoothed with an exponential moving average over the last `WINDOW` jobs
 *   (GitLab: 20 jobs, alpha 0.4): the newest job weighs `ALPHA`, each older one `1 - ALPHA` times
 *   less. Smoothing the cost per row, not the duration, keeps a size change from looking like a
 *   change of cost, so the size settles instead of overshooting.
 * - Within `TOLERANCE` of the target nothing changes (GitLab keeps 90-95 % time efficiency).
 * - Otherwise the size moves by the ratio target / predicted duration, but never by more than
 *   +10 % or -20 % per job (GitLab caps its multiplier at 1.2; bbm re-tunes after every job, not
 *   every few, so it grows in smaller steps), and stays within `minBatchSize..maxBatchSize`.
 * - A failed job adds no sample and the size never grows right after a failure: neither the
 *   decision the failure makes nor the one after it.
 *
 * Pure and deterministic (no I/O, no clock): a workflow may run it, and its state is plain JSON
 * that can be stored with the migration and carried across continue-as-new. Batch sizes are row
 * counts below 2^31; ids and range bounds never pass through here.
 */

export interface BatchTunerSettings {
  /**
   * The duration one job should take, in ms; 0 turns tuning off (the batch size stays as set).
   * Source: pt-online-schema-change's `--chunk-time` (0.5 s). @default 500
   */
  targetJobMs: number;
  /** Lower bound of the tuned size. Source: GitLab's MIN_BATCH_SIZE. @default 1000 */
  minBatchSize: number;
  /** Upper bound of the tuned size. Source: bbm's own batch size limit (GitLab's MAX_BATCH_SIZE is 2,000,000). @default 1000000 */
  maxBatchSize: number;
}

export const DEFAULT_TUNER_SETTINGS: Readonly<BatchTunerSettings> = Object.freeze({
  targetJobMs: 500,
  minBatchSize: 1_000,
  maxBatchSize: 1_000_000,
});

export const TUNER = Object.freeze({
  /** Jobs the moving average looks at (GitLab: 20). */
  WINDOW: 20,
  /** Weight of the newest job (GitLab: 0.4). */
  ALPHA: 0.4,
  /** Largest step up and down per job. */
  MAX_GROW: 1.1,
  MAX_SHRINK: 0.8,
  /** No change while the predicted duration is within this fraction of the target. */
  TOLERANCE: 0.1,
});

/** One finished job: rows it covered and how long it took. */
export interface TunerSample {
  rows: number;
  ms: number;
}

/** Everything the tuner remembers: plain JSON. */
export interface BatchTunerState {
  /** The size the next job should use. */
  batchSize: number;
  /** The last successful jobs, oldest first, at most WINDOW. */
  samples: TunerSample[];
  /** The last recorded job failed: the next decision may not grow either. */
  afterFailure: boolean;
}

/** What one job reports to the tuner. */
export interface JobOutcome {
  ok: boolean;
  /** Rows the job covered (its batch size, or fewer for the last range). */
  rows: number;
  durationMs: number;
}

/** A fresh state at `batchSize`, brought within the bounds. */
export function initialTunerState(batchSize: number, settings: BatchTunerSettings = DEFAULT_TUNER_SETTINGS): BatchTunerState {
  return { batchSize: clampSize(batchSize, settings), samples: [], afterFailure: false };
}

/**
 * The bounds a migration gets when its definition gives none: GitLab's 1,000 and bbm's batch size
 * limit, widened to take in the migration's own batch size, so a migration defined with a small
 * (or the largest) batch size starts where it was told to.
 */
export function resolveTunerSettings(batchSize: number, given: Partial<BatchTunerSettings> = {}): BatchTunerSettings {
  return {
    targetJobMs: given.targetJobMs ?? DEFAULT_TUNER_SETTINGS.targetJobMs,
    minBatchSize: given.minBatchSize ?? Math.min(DEFAULT_TUNER_SETTINGS.minBatchSize, batchSize, given.maxBatchSize ?? batchSize),
    maxBatchSize: given.maxBatchSize ?? Math.max(DEFAULT_TUNER_SETTINGS.maxBatchSize, batchSize),
  };
}

/** The state after one more job, with the size for the next one. Does not modify `state`. */
export function recordJob(state: BatchTunerState, settings: BatchTunerSettings, outcome: JobOutcome): BatchTunerState {
  if (!outcome.ok) return { batchSize: clampSize(state.batchSize, settings), samples: state.samples, afterFailure: true };
  const samples =
    outcome.rows > 0 && outcome.durationMs >= 0
      ? [...state.samples, { rows: outcome.rows, ms: outcome.durationMs }].slice(-TUNER.WINDOW)
      : state.samples;
  const cost = smoothedCostPerRow(samples);
  let multiplier = 1;
  if (cost !== undefined && cost > 0) {
    const predicted = cost * state.batchSize;
    if (Math.abs(predicted - settings.targetJobMs) > TUNER.TOLERANCE * settings.targetJobMs) {
      multiplier = Math.min(TUNER.MAX_GROW, Math.max(TUNER.MAX_SHRINK, settings.targetJobMs / predicted));
    }
  } else if (cost === 0) {
    multiplier = TUNER.MAX_GROW; // jobs take no measurable time: grow
  }
  if (state.afterFailure) multiplier = Math.min(multiplier, 1);
  return { batchSize: clampSize(Math.round(state.batchSize * multiplier), settings), samples, afterFailure: false };
}

/** EMA of ms per row over the samples, newest weighing most; undefined without samples. */
export function smoothedCostPerRow(samples: readonly TunerSample[]): number | undefined {
  let weighted = 0;
  let weights = 0;
  let weight = TUNER.ALPHA;
  for (const sample of [...samples].reverse()) {
    weighted += weight * (sample.ms / sample.rows);
    weights += weight;
    weight *= 1 - TUNER.ALPHA;
  }
  return weights > 0 ? weighted / weights : undefined;
}

function clampSize(size: number, settings: BatchTunerSettings): number {
  return Math.min(settings.maxBatchSize, Math.max(settings.minBatchSize, Math.max(1, Math.round(size))));
}

/** A refusal as plain data, like KnobProblem (workflow code can turn it into a failure). */
export interface TunerProblem {
  code: typeof ErrorCode.INVALID_INPUT | typeof ErrorCode.INVALID_BATCH_SIZE;
  message: string;
}

const RANGES: Readonly<Record<keyof BatchTunerSettings, readonly [number, number]>> = Object.freeze({
  targetJobMs: [0, 3_600_000],
  minBatchSize: [1, 1_000_000],
  maxBatchSize: [1, 1_000_000],
});

/** Check partial tuner settings (a migration's `--target-job-ms`, `--min-batch-size`, `--max-batch-size`); the first problem, or undefined. */
export function checkTunerSettings(partial: unknown, base: BatchTunerSettings = DEFAULT_TUNER_SETTINGS): TunerProblem | undefined {
  if (partial === undefined || partial === null) return undefined;
  if (typeof partial !== 'object' || Array.isArray(partial))
    return { code: ErrorCode.INVALID_INPUT, message: 'batch size tuning settings must be a JSON object' };
  for (const [key, value] of Object.entries(partial)) {
    const range = RANGES[key as keyof BatchTunerSettings];
    if (!range)
      return { code: ErrorCode.INVALID_INPUT, message: `unknown tuning setting "${key}"; known: ${Object.keys(RANGES).join(', ')}` };
    if (typeof value !== 'number' || !Number.isInteger(value) || value < range[0] || value > range[1]) {
      const code = key === 'targetJobMs' ? ErrorCode.INVALID_INPUT : ErrorCode.INVALID_BATCH_SIZE;
      return { code, message: `${key} must be an integer from ${range[0]} to ${range[1]}; got ${JSON.stringify(value)}` };
    }
  }
  const merged = { ...base, ...(partial as Partial<BatchTunerSettings>) };
  if (merged.minBatchSize > merged.maxBatchSize) {
    return {
      code: ErrorCode.INVALID_BATCH_SIZE,
      message: `minBatchSize (${merged.minBatchSize}) must not exceed maxBatchSize (${merged.maxBatchSize})`,
    };
  }
  return undefined;
}

/**
 * Check only the settings given (undefined ones are left out): each field's type and range, and
 * min <= max when both are given. The configure update's validator uses it; the store checks the
 * result against the stored values in its transaction.
 */
export function checkGivenTunerSettings(given: Partial<Record<keyof BatchTunerSettings, unknown>>): TunerProblem | undefined {
  const present = Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined));
  return checkTunerSettings(present, { targetJobMs: 0, minBatchSize: RANGES.minBatchSize[0], maxBatchSize: RANGES.maxBatchSize[1] });
}
