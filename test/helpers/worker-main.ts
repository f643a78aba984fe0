/**
 * Entry script of a bbm worker in its own process, for tests that kill, restart or multiply
 * workers. Everything comes from the environment, resolved by the production config code:
 * DATABASE_URL, TEMPORAL_ADDRESS, BBM_TASK_QUEUE, BBM_LOG_LEVEL, and BBM_TEST_WORKFLOW_BUNDLE
 * (a prebuilt bundle, so a restart takes a second instead of a rebundle).
 *
 * Prints `bbm-worker ready pid=<pid>` once it polls; SIGTERM/SIGINT shut it down gracefully.
 */
import { resolveConfig } from '../../src/config';
import { createPool } from '../../src/db/pool';
import { createLogger } from '../../src/logger';
import { createBbmWorker } from '../../src/worker';
import { testEnv } from './env';

const READY_LINE = 'bbm-worker ready';

async function main(): Promise<void> {
  const config = resolveConfig(process.env);
  if (!config.databaseUrl) throw new Error('worker-main needs DATABASE_URL');
  const logger = createLogger({ level: config.logLevel, pretty: false, destination: process.stderr });
  const pool = createPool({ url: config.databaseUrl, max: config.poolSize, applicationName: 'bbm-test-worker' });
  const bundle = testEnv.workflowBundleIfBuilt;
  const built = await createBbmWorker({
    config,
    pool,
    logger,
    workflowBundle: bundle ? { codePath: bundle } : undefined,
    identity: `worker-main-${process.pid}`,
  });
  const running = built.worker.run();
  const stop = (): void => {
    if (built.worker.getState() === 'RUNNING') built.worker.shutdown();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  process.stdout.write(`${READY_LINE} pid=${process.pid}\n`);
  await running;
  await built.close();
  await pool.end();
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`worker-main failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
