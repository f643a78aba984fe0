/**
 * The benchmark's worker, alone in its own process so its memory can be measured. Built by the
 * production factory from the environment (DATABASE_URL, TEMPORAL_ADDRESS, BBM_TASK_QUEUE,
 * BBM_LOG_LEVEL; BBM_BENCH_WORKFLOW_BUNDLE for a prebuilt bundle).
 *
 * stdout protocol, one line each: `ready`, then `rss <bytes now> <peak bytes>` every
 * BBM_BENCH_RSS_INTERVAL_MS (default 250); `exit <peak bytes>` after a SIGTERM shutdown.
 * BBM_BENCH_MEMORY_LOG=<file>: also append every sample's process.memoryUsage() there, one JSON
 * line each, to tell the V8 heap from native memory (Temporal Core, buffers).
 */
import fs from 'node:fs';
import { resolveConfig } from '../src/config';
import { createPool } from '../src/db/pool';
import { createLogger } from '../src/logger';
import { createBbmWorker } from '../src/worker';

async function main(): Promise<void> {
  const config = resolveConfig(process.env);
  if (!config.databaseUrl) throw new Error('bench/worker-main.ts needs DATABASE_URL');
  const logger = createLogger({ level: config.logLevel, pretty: false, destination: process.stderr });
  const pool = createPool({ url: config.databaseUrl, max: config.poolSize, applicationName: 'bbm-bench-worker' });
  const bundle = process.env.BBM_BENCH_WORKFLOW_BUNDLE;
  const built = await createBbmWorker({
    config,
    pool,
    logger,
    workflowBundle: bundle ? { codePath: bundle } : undefined,
    identity: `bench-worker-${process.pid}`,
  });

  const memoryLog = process.env.BBM_BENCH_MEMORY_LOG;
  let peak = 0;
  const sample = (): void => {
    const rss = process.memoryUsage().rss;
    peak = Math.max(peak, rss);
    process.stdout.write(`rss ${rss} ${peak}\n`);
    if (memoryLog) fs.appendFileSync(memoryLog, `${JSON.stringify({ at: Date.now(), ...process.memoryUsage() })}\n`);
  };
  const interval = Number(process.env.BBM_BENCH_RSS_INTERVAL_MS ?? 250);
  const timer = setInterval(sample, interval > 0 ? interval : 250);

  const running = built.worker.run();
  const stop = (): void => {
    if (built.worker.getState() === 'RUNNING') built.worker.shutdown();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  sample();
  process.stdout.write('ready\n');
  await running;
  clearInterval(timer);
  sample();
  process.stdout.write(`exit ${peak}\n`);
  await built.close();
  await pool.end();
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`bench worker failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
