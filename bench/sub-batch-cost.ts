/**
 * What sub-batches cost: executeJob per no-op job of 1,000 ids, as one transaction and as 10
 * sub-batches of 100 (no pause), against a throw-away Postgres, in interleaved rounds so that
 * other load on the machine hits both alike. Prints the per-round figures and the medians.
 *
 *   npx tsx bench/sub-batch-cost.ts            (ROUNDS=8, JOBS=50 per round and side)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createPool } from '../src/db/pool';
import { migrateSchema } from '../src/db/schema';
import { startDevPostgres } from '../src/dev/postgres';
import { BUILTIN_WORK } from '../src/engine/builtin-work';
import { defineMigration } from '../src/engine/definitions';
import { executeJob } from '../src/engine/execute-job';
import { findJob } from '../src/engine/find-job';
import { acquireLease } from '../src/engine/lease';
import { WorkRegistry } from '../src/engine/registry';
import { createLogger } from '../src/logger';

const ROUNDS = Number(process.env.ROUNDS ?? 8);
const JOBS = Number(process.env.JOBS ?? 50);
const IDS_PER_JOB = 1_000;
const SIDES = { 'one transaction': undefined, 'sub-batches of 100': 100 } as const;

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bbm-sub-batch-cost-'));
  const pg = await startDevPostgres({ dataDir: dir, ephemeral: true, logger: createLogger({ level: 'warn', pretty: false }) });
  const pool = createPool({ url: pg.url, max: 4 });
  const deps = { pool, registry: new WorkRegistry([...BUILTIN_WORK]) };
  try {
    await migrateSchema(pool);
    await pool.query('CREATE TABLE cost_items (id bigint PRIMARY KEY)');
    await pool.query('INSERT INTO cost_items SELECT generate_series(1, $1::int)', [JOBS * IDS_PER_JOB]);
    const perJob = new Map<string, number[]>(Object.keys(SIDES).map((k) => [k, []]));
    // Round 0 warms up (JIT, connections, caches) and is not counted.
    for (let round = 0; round <= ROUNDS; round++) {
      const sides = Object.entries(SIDES);
      for (const [label, subBatchSize] of round % 2 === 0 ? sides : sides.reverse()) {
        const name = `cost-${round}-${subBatchSize ?? 'off'}`;
        await defineMigration(deps, {
          name,
          repository: name,
          work: 'noop',
          table: 'cost_items',
          column: 'id',
          batchSize: IDS_PER_JOB,
          targetJobMs: 0,
          subBatchSize,
          subBatchPauseMs: 0,
        });
        const fence = await acquireLease(pool, { repository: name, holder: 'bench', ttlMs: 600_000, waitMs: 1_000 });
        let ms = 0;
        let jobs = 0;
        for (
          let found = await findJob(pool, { repository: name, fence, maxJobAttempts: 5 });
          found.job;
          found = await findJob(pool, { repository: name, fence, maxJobAttempts: 5 })
        ) {
          const t = performance.now();
          await executeJob(deps, { jobId: found.job.jobId, maxJobAttempts: 5, jobTimeoutMs: 120_000, fence });
          ms += performance.now() - t;
          jobs++;
        }
        if (round > 0) perJob.get(label)?.push(ms / jobs);
      }
    }
    const median = (a: number[]): number => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)] ?? NaN;
    console.log(
      `executeJob per no-op job of ${IDS_PER_JOB} ids, ${ROUNDS} rounds of ${JOBS} jobs per side (load ${os
        .loadavg()
        .map((l) => l.toFixed(1))
        .join(', ')}):`,
    );
    for (const [label, values] of perJob)
      console.log(`  ${label.padEnd(20)} median ${median(values).toFixed(2)} ms   rounds: ${values.map((v) => v.toFixed(1)).join(' ')}`);
  } finally {
    await pool.end();
    await pg.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

void main();
