import { InvalidArgumentError } from 'commander';
import { DEFINITION_CODES, definitionFileSchema } from '../contract/definition-schema';
import { problemOf } from '../contract/schema-kit';
import { checkSubBatchSettings } from '../contract/sub-batches';
import { checkGivenTunerSettings } from '../engine/batch-tuner';
import { BbmError, ErrorCode, invalidInput } from '../errors';
import { INT8_MAX, INT8_MIN } from '../engine/int8';
import { checkKnobs, KNOB_NAMES, UNCONSTRAINED_KNOBS, type Knobs } from '../knobs';

/**
 * Option parsers for commander. They throw InvalidArgumentError, which the CLI reports as
 * `error[INVALID_INPUT]` with exit code 2, naming the option and the accepted values.
 */

export function integerIn(min: number, max: number): (raw: string) => number {
  return (raw: string) => {
    const value = Number(raw);
    if (!/^-?\d+$/.test(raw.trim()) || !Number.isSafeInteger(value) || value < min || value > max) {
      throw new InvalidArgumentError(`must be an integer from ${min} to ${max}.`);
    }
    return value;
  };
}

/**
 * `--min-value` / `--max-value`: any integer within bigint, in decimal digits, kept as text so it
 * stays exact. Refused with INVALID_RANGE, the code a definition file gives the same bound (a
 * value beyond bigint, or not an integer), not commander's generic INVALID_INPUT.
 */
export function decimalInteger(flag: '--min-value' | '--max-value'): (raw: string) => string {
  return (raw: string) => {
    const text = raw.trim();
    if (!/^-?\d+$/.test(text))
      throw new BbmError(
        ErrorCode.INVALID_RANGE,
        `${flag} must be an integer written in decimal digits (e.g. 9007199254740993); got ${JSON.stringify(raw)}.`,
      );
    if (BigInt(text) < INT8_MIN || BigInt(text) > INT8_MAX)
      throw new BbmError(ErrorCode.INVALID_RANGE, `${flag} ${text} is outside bigint (${INT8_MIN}..${INT8_MAX}).`);
    return text;
  };
}

/**
 * `--sub-batch-size` / `--sub-batch-pause-ms`: refused with the same codes as in a definition file
 * or a `configure` update (INVALID_SUB_BATCH_SIZE / INVALID_SUB_BATCH_PAUSE, exit 2), not commander's
 * generic one, so a script sees one code for one mistake whichever way it came in.
 */
export function subBatchFlag(field: 'subBatchSize' | 'subBatchPauseMs'): (raw: string) => number {
  return (raw: string) => {
    const value: unknown = /^-?\d+$/.test(raw.trim()) ? Number(raw) : raw;
    const problem = checkSubBatchSettings({ [field]: value });
    if (problem)
      throw new BbmError(
        problem.code,
        problem.message.replace(field, field === 'subBatchSize' ? '--sub-batch-size' : '--sub-batch-pause-ms'),
      );
    return value as number;
  };
}

/**
 * A definition field given as a flag, checked by the definition schema so the flag and a
 * definition file refuse the same values with the same code (e.g. `--batch-size -5` and
 * `batchSize: -5` both give INVALID_BATCH_SIZE, `--strategy foo` INVALID_BATCHING_STRATEGY).
 * Integer text becomes a number; anything else stays text and is refused as the wrong type.
 */
export function definitionFlag(field: 'batchSize' | 'strategy', flag: string): (raw: string) => string | number {
  return (raw: string) => {
    const value = field === 'batchSize' && /^-?\d+$/.test(raw.trim()) ? Number(raw) : raw;
    const problem = problemOf(definitionFileSchema, { [field]: value }, 'A migration definition', DEFINITION_CODES);
    if (problem) throw new BbmError(problem.code, `${problem.message.replace(field, flag)}.`, { field });
    return value;
  };
}

const TUNER_FLAGS = { targetJobMs: '--target-job-ms', minBatchSize: '--min-batch-size', maxBatchSize: '--max-batch-size' } as const;

/**
 * `--target-job-ms` / `--min-batch-size` / `--max-batch-size`: the adaptive batch size's rules and
 * codes (src/engine/batch-tuner.ts; INVALID_INPUT for the target, INVALID_BATCH_SIZE for the
 * bounds), as a definition file or a `configure` update gets them. min <= max is checked with the
 * whole definition.
 */
export function tunerFlag(field: keyof typeof TUNER_FLAGS): (raw: string) => number {
  return (raw: string) => {
    const value: unknown = /^-?\d+$/.test(raw.trim()) ? Number(raw) : raw;
    const problem = checkGivenTunerSettings({ [field]: value });
    if (problem) throw new BbmError(problem.code, `${problem.message.replace(field, TUNER_FLAGS[field])}.`);
    return value as number;
  };
}

/** "60s", "5m", "1h", "500ms" or plain seconds -> milliseconds (1 s .. 1 year). */
export function duration(raw: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(raw.trim());
  const unit = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
  const ms = m ? Number(m[1]) * unit[(m[2] ?? 's') as keyof typeof unit] : NaN;
  if (!Number.isFinite(ms) || ms < 1_000 || ms > 365 * 86_400_000) {
    throw new InvalidArgumentError('must be a duration such as 30s, 5m or 1h (at least 1s).');
  }
  return Math.round(ms);
}

/** Repeatable `--knob name=value`, validated against the same rules the workflow applies. */
export function collectKnob(raw: string, previous: Partial<Knobs> = {}): Partial<Knobs> {
  const eq = raw.indexOf('=');
  if (eq <= 0) throw new InvalidArgumentError(`expected name=value, e.g. maxDelayMs=500; knobs: ${KNOB_NAMES.join(', ')}.`);
  const name = raw.slice(0, eq).trim();
  const text = raw.slice(eq + 1).trim();
  const value: unknown = text === 'true' ? true : text === 'false' ? false : /^-?\d+$/.test(text) ? Number(text) : text;
  // Each value on its own here (flags come in any order); the combination is checked by checkedKnobs().
  const problem = checkKnobs({ [name]: value }, UNCONSTRAINED_KNOBS);
  if (problem) throw new InvalidArgumentError(problem.message + '.');
  return { ...previous, [name]: value } as Partial<Knobs>;
}

/** The collected knobs as a whole (e.g. minDelayMs <= maxDelayMs), refused with INVALID_INPUT. */
export function checkedKnobs(knobs: Partial<Knobs> | undefined): Partial<Knobs> | undefined {
  const problem = checkKnobs(knobs);
  if (problem) throw invalidInput(`Invalid --knob values: ${problem.message}.`);
  return knobs;
}

/**
 * Repeatable `--arg key=value` for work function arguments (numbers and booleans are converted;
 * an integer beyond 2^53 stays decimal text, since a JS number would round it).
 */
export function collectArg(raw: string, previous: Record<string, unknown> = {}): Record<string, unknown> {
  const eq = raw.indexOf('=');
  if (eq <= 0) throw new InvalidArgumentError('expected key=value, e.g. from=manifest.');
  const text = raw.slice(eq + 1);
  const exact = /^-?\d+(\.\d+)?$/.test(text) && (text.includes('.') || Number.isSafeInteger(Number(text)));
  const value: unknown = text === 'true' ? true : text === 'false' ? false : exact ? Number(text) : text;
  return { ...previous, [raw.slice(0, eq).trim()]: value };
}

export function jsonObject(raw: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (err) {
    throw new InvalidArgumentError(`must be a JSON object: ${(err as Error).message}.`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new InvalidArgumentError('must be a JSON object, e.g. \'{"from":"a","to":"b"}\'.');
  return value as Record<string, unknown>;
}
