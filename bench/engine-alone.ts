/**
 * `npm run bench:engine`: the engine's hot path alone (no Temporal), against the plain loop, in
 * a few minutes. What the full `npm run bench` calls "profile: engine alone", run on its own so
 * a change to the engine's SQL can be measured without the whole benchmark.
 *
 *   npm run bench:engine                          300,000 rows at batch 1,000 and 1,000 no-op jobs
 *   npm run bench:engine -- --rows 100000 --batch 1000 --noop-jobs 500
 *
 * Starts its own throw-away Postgres (unless DATABASE_URL is set), then prints per contender:
 * rows/s, ms per job, and the statements bbm sends per job with their cost.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { createPool } from '../src/db/pool';
import { migrateSchema } from '../src/db/schema';
import { startDevPostgres, type DevPostgres } from '../src/dev/postgres';
import { BUILTIN_WORK } from '../src/engine/builtin-work';
import { WorkRegistry } from '../src/engine/registry';
import { createLogger } from '../src/logger';
import { createDataset, createIdTable, resetDataset, TABLE, wrongDigests } from './dataset';
import { engineLoop, type EngineLoopResult } from './engine-loop';
import { assertJobCount, expectedJobs } from './job-count';
import { plainLoops } from './plain-loop';

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 100_000_000) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

async function main(): Promise<void> {
  const options = new Command('npm run bench:engine --')
    .option('--rows <n>', 'rows in the benchmark table', positiveInt, 300_000)
    .option('--batch <n>', 'batch size of the backfill runs', positiveInt, 1_000)
    .option('--noop-jobs <n>', 'jobs of the no-op run', positiveInt, 1_000)
    .parse(process.argv)
    .opts<{ rows: number; batch: number; noopJobs: number }>();
  const logger = createLogger({ level: 'warn', pretty: false });
  let pg: DevPostgres | undefined;
  let url = process.env.DATABASE_URL;
  const root = url ? undefined : fs.mkdtempSync(path.join(os.tmpdir(), 'bbm-engine-bench-'));
  if (!url) {
    pg = await startDevPostgres({ dataDir: path.join(root!, 'postgres'), ephemeral: true, logger });
    url = pg.url;
  }
  const pool = createPool({ url, max: 4, applicationName: 'bbm-bench-engine' });
  try {
    await migrateSchema(pool);
    const registry = new WorkRegistry([...BUILTIN_WORK]);
    const stamp = Date.now().toString(36);
    await createDataset(pool, options.rows);
    await createIdTable(pool, 'bench_noop', options.noopJobs);

    await resetDataset(pool);
    const plain = await plainLoops(url, [{ minValue: 1, maxValue: options.rows }], options.batch, () => undefined);
    const plainRate = plain.rows / (plain.wallMs / 1000);
    console.log(`plain loop, batch ${options.batch}: ${Math.round(plainRate)} rows/s, ${plain.msPerBatch.toFixed(2)} ms per batch`);

    await resetDataset(pool);
    const work = await engineLoop(
      { pool, registry },
      {
        name: `bench-engine-${stamp}`,
        work: 'copy_column',
        table: TABLE,
        column: 'id',
        batchSize: options.batch,
        targetJobMs: 0,
        minValue: 1,
        maxValue: options.rows,
        args: { from: 'payload', to: 'digest', transform: 'md5' },
      },
      () => undefined,
    );
    if ((await wrongDigests(pool)) !== 0) throw new Error('engine run left rows without their digest');
    assertJobCount('engine alone', work.jobs, expectedJobs([{ minValue: 1, maxValue: options.rows }], options.batch));
    const rate = work.rows / (work.wallMs / 1000);
    print(`engine alone, batch ${options.batch}: ${Math.round(rate)} rows/s = ${(rate / plainRate).toFixed(2)}x plain`, work);

    const noop = await engineLoop(
      { pool, registry },
      { name: `bench-noop-${stamp}`, work: 'noop', table: 'bench_noop', column: 'id', batchSize: 1, targetJobMs: 0 },
      () => undefined,
    );
    assertJobCount('engine alone, no-op', noop.jobs, options.noopJobs);
    print(`engine alone, no-op, ${noop.jobs} jobs`, noop);
  } finally {
    await pool.end();
    await pg?.stop();
    if (root) fs.rmSync(root, { recursive: true, force: true });
  }
}

function print(title: string, r: EngineLoopResult): void {
  const perJob = r.wallMs / Math.max(1, r.jobs);
  const statements = r.statements.reduce((n, s) => n + s.perJob, 0);
  console.log(`\n${title} (${r.jobs} jobs, ${r.finds} finds)`);
  console.log(
    `  ${perJob.toFixed(3)} ms per job (renew ${r.renewMs.toFixed(3)}, find ${r.findMs.toFixed(3)}, execute ${r.executeMs.toFixed(3)}, work ${r.workMs.toFixed(3)}); ${statements.toFixed(1)} statements per job`,
  );
  for (const s of r.statements)
    console.log(
      `  ${s.perJob.toFixed(2).padStart(5)} x ${s.msPerCall.toFixed(3).padStart(7)} ms = ${s.msPerJob.toFixed(3)}  ${s.statement}`,
    );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
