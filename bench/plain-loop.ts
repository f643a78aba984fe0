import { Client } from 'pg';
import { TABLE } from './dataset';

export interface PlainLoopResult {
  rows: number;
  batches: number;
  /** Loops run side by side, one connection each. */
  loops: number;
  wallMs: number;
  /** Mean time of one UPDATE (its commit included). */
  msPerBatch: number;
}

/**
 * Contender (a): what a user would write without bbm. One node-postgres connection per id range,
 * one autocommitted `UPDATE ... WHERE id BETWEEN $1 AND $2` per batch over its range; the ranges'
 * loops run side by side (one range: the sequential loop; N disjoint ranges: the physical limit
 * that N bbm repositories compare with). Ranges are the benchmark's own ids, far below 2^53.
 */
export async function plainLoops(
  url: string,
  ranges: { minValue: number; maxValue: number }[],
  batch: number,
  onProgress: (rows: number) => void,
  beforeEnd: () => void = () => undefined,
): Promise<PlainLoopResult> {
  const clients = ranges.map(() => new Client({ connectionString: url, application_name: 'bbm-bench-plain-loop' }));
  try {
    for (const c of clients) await c.connect();
    let rows = 0;
    let batches = 0;
    const loop = async (client: Client, range: { minValue: number; maxValue: number }): Promise<void> => {
      for (let start = range.minValue; start <= range.maxValue; start += batch) {
        const result = await client.query(`UPDATE ${TABLE} SET digest = md5(payload) WHERE id BETWEEN $1 AND $2`, [
          start,
          Math.min(range.maxValue, start + batch - 1),
        ]);
        rows += result.rowCount ?? 0;
        batches += 1;
        if (batches % 10 === 0) onProgress(rows);
      }
    };
    const started = performance.now();
    await Promise.all(ranges.map((r, i) => loop(clients[i] as Client, r)));
    const wallMs = performance.now() - started;
    beforeEnd(); // while the connections' backends (and their CPU time) still exist
    return { rows, batches, loops: ranges.length, wallMs, msPerBatch: (wallMs * ranges.length) / Math.max(1, batches) };
  } finally {
    for (const c of clients) await c.end().catch(() => undefined);
  }
}
