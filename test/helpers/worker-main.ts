/**
 * Entry script of a bbm worker in its own process, for tests that kill, restart or multiply
 * workers. Everything comes from the environment, resolved by the production config code:
 * DATABASE_URL, TEMPORAL_ADDRESS, BBM_TASK_QUEUE, BBM_LOG_LEVEL, and BBM_TEST_WORKFLOW_BUNDLE
 * (a prebuilt bundle, so a restart takes a second instead of a rebundle).
 *
 * Two test hooks, also from the environment: BBM_TEST_HOLD_WORK=<name> registers a work function
 * of that name whose jobs never end (repositories stay running), and
 * BBM_TEST_KILL_AFTER_ACTIVITY=<activity type> makes the process SIGKILL itself as soon as an
 * activity of that type has returned, before its workflow task can complete (a crash at that exact
 * point, which a kill from outside can only hit by chance).
 *
 * Prints `bbm-worker ready pid=<pid>` once it polls; SIGTERM/SIGINT shut it down gracefully.
 */
import { resolveConfig } from '../../src/config';
import { createPool } from '../../src/db/pool';
import { createLogger } from '../../src/logger';
import { createBbmWorker, type CreateWorkerOptions } from '../../src/worker';
import { testEnv } from './env';
import { registryWith } from './work';

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
    ...testHooks(process.env),
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

function testHooks(env: NodeJS.ProcessEnv): Pick<CreateWorkerOptions, 'registry' | 'interceptors'> {
  const hold = env.BBM_TEST_HOLD_WORK;
  const killAfter = env.BBM_TEST_KILL_AFTER_ACTIVITY;
  return {
    ...(hold
      ? {
          registry: registryWith({ name: hold, description: 'never ends (tests)', run: () => new Promise<number>(() => undefined) }),
        }
      : {}),
    ...(killAfter
      ? {
          interceptors: {
            activity: [
              (ctx) => ({
                inbound: {
                  async execute(input, next) {
                    const result = await next(input);
                    if (ctx.info.activityType === killAfter) {
                      process.kill(process.pid, 'SIGKILL');
                      await new Promise(() => undefined); // the result must never reach the workflow
                    }
                    return result;
                  },
                },
              }),
            ],
          },
        }
      : {}),
  };
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`worker-main failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
