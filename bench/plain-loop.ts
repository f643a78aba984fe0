import { Client } from 'pg';
import { TABLE } from './dataset';

export interface PlainLoopResult {
  rows: number;
  batches: number;
  wallMs: number;
  /** Mean time of one UPDATE (its commit included). */
  msPerBatch: number;
}

/**
 * Contender (a): what a user would write without bbm. One node-postgres connection, one
 * autocommitted `UPDATE ... WHERE id BETWEEN $1 AND $2` per batch, over ids 1..maxId.
 */
export async function plainLoop(
  url: string,
  maxId: number,
  batch: number,
  onProgress: (rows: number) => void,
  beforeEnd: () => void = () => undefined,
): Promise<PlainLoopResult> {
  const client = new Client({ connectionString: url, application_name: 'bbm-bench-plain-loop' });
  await client.connect();
  try {
    let rows = 0;
    let batches = 0;
    const started = performance.now();
    for (let start = 1; start <= maxId; start += batch) {
      const result = await client.query(`UPDATE ${TABLE} SET digest = md5(payload) WHERE id BETWEEN $1 AND $2`, [
        start,
        Math.min(maxId, start + batch - 1),
      ]);
      rows += result.rowCount ?? 0;
      batches += 1;
      if (batches % 10 === 0) onProgress(rows);
    }
    const wallMs = performance.now() - started;
    beforeEnd(); // while the connection's backend (and its CPU time) still exists
    return { rows, batches, wallMs, msPerBatch: wallMs / Math.max(1, batches) };
  } finally {
    await client.end();
  }
}
