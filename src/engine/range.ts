import { INT8_MAX } from './int8';

/**
 * Range arithmetic of the range strategies (serial, distinct), in exact `bigint`. Pure: the
 * database is asked only for the boundary, when `lookup` says one is needed.
 */

/** The next job's range before its end is known. */
export interface RangeStep {
  start: bigint;
  /** The end when no lookup is needed; otherwise the upper limit (max) the lookup searches to. */
  end: bigint;
  /**
   * True when [start, max] spans more than `batchSize` integers, so it may hold more than
   * `batchSize` rows (serial) or distinct values (distinct): the job then ends at the
   * batchSize-th one found from `start`, or at max when fewer are left.
   */
  lookup: boolean;
}

/**
 * The range after `lastEnd` (the previous job's end, or null for the first job) within
 * [min, max]; undefined when max has been covered. Starting after INT8_MAX is never computed in
 * SQL (it would overflow there): here it is simply past max.
 */
export function nextRange(min: bigint, max: bigint, lastEnd: bigint | null, batchSize: number): RangeStep | undefined {
  const start = lastEnd === null ? min : lastEnd + 1n;
  if (start > max) return undefined;
  const lookup = start + BigInt(batchSize) - 1n < max;
  return { start, end: max, lookup };
}

/** Ids in [start, end]: up to 2^64 for the whole int8 range, which is why it is a bigint (numeric in SQL). */
export function span(start: bigint, end: bigint): bigint {
  return end - start + 1n;
}

/**
 * Fraction 0..1 of [min, max] covered by finished jobs. A float on purpose: it is only ever
 * displayed, and never feeds back into a boundary.
 */
export function coverage(covered: bigint, min: bigint, max: bigint): number {
  const total = span(min, max);
  if (total <= 0n) return 0;
  return Math.min(1, Number(covered) / Number(total));
}

/** Estimates stored in an int8 column (total_tuple_count) saturate instead of overflowing. */
export function clampToInt8(value: bigint): bigint {
  return value > INT8_MAX ? INT8_MAX : value;
}
