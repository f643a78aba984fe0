import { ErrorCode } from './errors';
import { problemOf } from './contract/schema-kit';
import { knobsSchema } from './contract/schemas';
import { DEFAULT_HEALTH_KNOBS, type HealthKnobs } from './health/knobs';

/**
 * The batch loop's settings. Defaults are the anchor's; names, types and ranges are the knobs
 * schema's (src/contract/schemas.ts). Pure module: the workflow validates updates with it, the
 * CLI validates flags with it, so both refuse the same values the same way.
 */
export interface Knobs extends HealthKnobs {
  /** Jobs per lock (batch). @default 5 */
  maxJobPerBatch: number;
  /** Stop taking jobs in a batch after this much job time. @default 600000 (10 min) */
  maxBatchTimeoutMs: number;
  /** Start-to-close timeout of one job (and its statement_timeout). @default 120000 (2 min) */
  jobTimeoutMs: number;
  /** How long to wait for the repository lease. @default 60000 (1 min) */
  lockWaitTimeoutMs: number;
  /** Random pause between batches, from min to max. @default 100 .. 2000 */
  minDelayMs: number;
  maxDelayMs: number;
  /** Attempts per job before the migration fails (activity retries). @default 5 */
  maxJobAttempts: number;
  /** A running workflow continues as new past this many history events. @default 8000 */
  historyEventBudget: number;
  /**
   * Run lock, find, execute and release as local activities (in the workflow's worker, recorded as
   * markers) instead of regular ones. Local is ~10x faster per job, because each regular activity
   * costs a server round trip and a workflow task; regular ones show as separate activity events
   * and can run on any worker. Both are retried, fenced and exactly-once in effect. @default true
   */
  localActivities: boolean;
}

export const DEFAULT_KNOBS: Readonly<Knobs> = Object.freeze({
  maxJobPerBatch: 5,
  maxBatchTimeoutMs: 600_000,
  jobTimeoutMs: 120_000,
  lockWaitTimeoutMs: 60_000,
  minDelayMs: 100,
  maxDelayMs: 2_000,
  maxJobAttempts: 5,
  historyEventBudget: 8_000,
  localActivities: true,
  ...DEFAULT_HEALTH_KNOBS,
});

export const KNOB_NAMES = Object.freeze(Object.keys(knobsSchema.shape) as (keyof Knobs)[]);

/** A refusal with a stable code, as plain data (workflow code turns it into an ApplicationFailure). */
export interface KnobProblem {
  code: typeof ErrorCode.INVALID_INPUT;
  message: string;
}

/**
 * Check a partial set of knobs against the knobs schema (src/contract/schemas.ts: unknown knobs,
 * types, ranges), then minDelayMs <= maxDelayMs once merged into `base`. Returns the problem
 * (INVALID_INPUT), or undefined when all are fine; undefined and null mean "no knobs".
 */
export function checkKnobs(partial: unknown, base: Knobs = DEFAULT_KNOBS): KnobProblem | undefined {
  if (partial === undefined || partial === null) return undefined;
  const shape = problemOf(knobsSchema, partial, 'knobs');
  if (shape) return problem(shape.message);
  const merged = { ...base, ...(partial as Partial<Knobs>) };
  if (merged.minDelayMs > merged.maxDelayMs)
    return problem(`minDelayMs (${merged.minDelayMs}) must not exceed maxDelayMs (${merged.maxDelayMs})`);
  return undefined;
}

/**
 * A base for checkKnobs that makes only the given knobs meet each other: minDelayMs <= maxDelayMs
 * is then checked when a request gives both, and otherwise left to whoever knows the knobs in
 * force (the running workflow's configure validator). Checking against DEFAULT_KNOBS instead
 * refused `minDelayMs=6000` after `maxDelayMs=10000` had been configured (found by a tester).
 */
export const UNCONSTRAINED_KNOBS: Knobs = Object.freeze({ ...DEFAULT_KNOBS, minDelayMs: 0, maxDelayMs: Number.MAX_SAFE_INTEGER });

function problem(message: string): KnobProblem {
  return { code: ErrorCode.INVALID_INPUT, message };
}
