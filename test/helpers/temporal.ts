import { randomBytes } from 'node:crypto';
import { after } from 'node:test';
import type { Client } from '@temporalio/client';
import { resolveConfig, type BbmConfig } from '../../src/config';
import { WorkRegistry } from '../../src/engine/registry';
import { BUILTIN_WORK } from '../../src/engine/builtin-work';
import { createLogger } from '../../src/logger';
import { createBbmWorker, type BbmWorker, type CreateWorkerOptions } from '../../src/worker';
import { stopBeforePoolsEnd, type TestDatabase } from './db';
import { testEnv } from './env';

export interface TestWorker extends BbmWorker {
  config: BbmConfig;
  taskQueue: string;
  /** Stop polling and wait for in-flight tasks; idempotent. */
  stop(): Promise<void>;
}

/** A unique task queue per test file keeps tests from picking up each other's tasks. */
export function uniqueTaskQueue(label: string): string {
  return `test-${label}-${randomBytes(4).toString('hex')}`;
}

/**
 * A worker built by the production factory, on the run's real Temporal server and the test's
 * own database, running in the background until the file's tests end.
 */
export async function startTestWorker(
  db: TestDatabase,
  options: {
    taskQueue?: string;
    registry?: WorkRegistry;
    logLevel?: string;
    logDestination?: NodeJS.WritableStream;
    interceptors?: CreateWorkerOptions['interceptors'];
    /** Environment on top of the run's, for the worker's config (e.g. BBM_RUN_AHEAD_IDLE_MS). @default none */
    env?: NodeJS.ProcessEnv;
  } = {},
): Promise<TestWorker> {
  const taskQueue = options.taskQueue ?? uniqueTaskQueue('w');
  const config = resolveConfig(
    { ...process.env, ...options.env },
    {
      databaseUrl: db.url,
      taskQueue,
      logLevel: options.logLevel ?? testEnv.logLevel,
    },
  );
  // Tests that assert on log lines pass their own stream.
  const logger = createLogger({ level: config.logLevel, pretty: false, destination: options.logDestination ?? process.stderr });
  const built = await createBbmWorker({
    config,
    pool: db.pool,
    logger,
    registry: options.registry ?? new WorkRegistry([...BUILTIN_WORK]),
    workflowBundle: { codePath: testEnv.workflowBundle },
    interceptors: options.interceptors,
  });
  const running = built.worker.run();
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    if (built.worker.getState() === 'RUNNING') built.worker.shutdown();
    await running;
    await built.close();
  };
  after(stop);
  stopBeforePoolsEnd(stop);
  return { ...built, config, taskQueue, stop };
}

/** A client of the run's Temporal server (for tests that need no worker of their own). */
export async function testClient(): Promise<Client> {
  const { connectClient } = await import('../../src/temporal/connection');
  const client = await connectClient(resolveConfig(process.env));
  after(() => client.connection.close());
  return client;
}
