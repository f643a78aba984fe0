/** How the repeated runs of one figure spread (rows/s), when `--repeat` is above 1. */
export interface Spread {
  runs: number;
  minRowsPerSecond: number;
  maxRowsPerSecond: number;
}

/**
 * Run one figure `n` times and keep the median run: the figure most runs reach, neither the one
 * a burst of other load slowed nor the one luck sped up. For an even `n` it keeps the faster of
 * the two middle runs (a real run, so that every number printed beside it comes from one run).
 * The spread of all runs goes with it.
 */
export async function medianOf<T extends { wallMs: number; rowsPerSecond: number }>(
  n: number,
  run: (round: number) => Promise<T>,
): Promise<T & { spread?: Spread }> {
  const results: T[] = [];
  for (let round = 1; round <= n; round++) results.push(await run(round));
  return withMedian(results);
}

/** The median of finished runs (see medianOf); throws on an empty list. */
export function withMedian<T extends { wallMs: number; rowsPerSecond: number }>(results: T[]): T & { spread?: Spread } {
  if (results.length === 0) throw new Error('no run to take the median of');
  const sorted = [...results].sort((a, b) => a.wallMs - b.wallMs);
  const median = sorted[Math.floor((sorted.length - 1) / 2)] as T;
  if (results.length === 1) return median;
  const rates = results.map((r) => r.rowsPerSecond);
  return { ...median, spread: { runs: results.length, minRowsPerSecond: Math.min(...rates), maxRowsPerSecond: Math.max(...rates) } };
}
