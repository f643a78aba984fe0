/**
 * The bench's guard against figures measured at the wrong batch size. Since the adaptive batch
 * size became bbm's default (targetJobMs 500), a migration defined without `targetJobMs: 0` grows
 * its batches: a "batch 1,000" row once ran about 57 tuned jobs instead of 2,000 and was compared
 * with a plain loop that ran 2,000. Every fixed-size contender is therefore checked against the
 * number of jobs its ranges must make, and the bench fails when one differs.
 */

/** An inclusive id range of the benchmark's own tables (dense ids, far below 2^53). */
export interface IdRange {
  minValue: number;
  maxValue: number;
}

/**
 * Jobs a fixed batch size makes over dense ids: ceil(ids / batch) per range, summed.
 * Throws (a plain Error: this is the bench's own arithmetic) on an empty range or a batch below 1.
 */
export function expectedJobs(ranges: readonly IdRange[], batch: number): number {
  if (!Number.isInteger(batch) || batch < 1) throw new Error(`batch size must be a positive integer; got ${batch}`);
  return ranges.reduce((sum, r) => {
    const ids = r.maxValue - r.minValue + 1;
    if (!Number.isInteger(ids) || ids < 1) throw new Error(`empty or invalid id range ${r.minValue}..${r.maxValue}`);
    return sum + Math.ceil(ids / batch);
  }, 0);
}

/**
 * A message naming the mismatch when a fixed-size run made `actual` jobs instead of `expected`;
 * undefined when they agree.
 */
export function jobCountProblem(label: string, actual: number, expected: number): string | undefined {
  if (actual === expected) return undefined;
  return (
    `${label}: ran ${actual} jobs, but a fixed batch size over these ranges makes ${expected}. ` +
    'Its figure is not comparable with the plain loop at that batch size; was the migration defined without targetJobMs: 0 (the tuner on)?'
  );
}

/** Throw jobCountProblem's message, so the bench exits non-zero instead of printing an invalid figure. */
export function assertJobCount(label: string, actual: number, expected: number): void {
  const problem = jobCountProblem(label, actual, expected);
  if (problem) throw new Error(problem);
}
