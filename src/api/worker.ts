import type { Worker } from '@temporalio/worker';
import { checkConnection, createPool } from '../db/pool';
import { migrateSchema } from '../db/schema';
import type { WorkFunction } from '../engine/registry';
import { HealthRegistry, type HealthIndicator } from '../health/registry';
import { createLogger } from '../logger';
import { runWorker as runCliWorker } from '../cli/run-worker';
import { configFrom, registryOf, requireDatabaseUrl, type ConnectionSettings } from './settings';

export interface WorkerOptions extends ConnectionSettings {
  /** Your work functions (from defineWorkFunction), registered next to the built-ins. @default none */
  workFunctions?: readonly WorkFunction[];
  /**
   * Port of the Prometheus /metrics endpoint (bbm's metrics and the Temporal SDK's); 0 turns it
   * off. A taken port throws CONFIG_INVALID. @default env BBM_METRICS_PORT, else 9464
   */
  metricsPort?: number;
  /**
   * Your own health indicators (src/health/registry.ts HealthIndicator: `name`, `unit`,
   * `description`, `threshold`, `read(ctx)`), checked before jobs besides the built-ins; a tripped
   * one throttles the repository like a built-in. A bad or duplicate name, or a threshold that is
   * neither a finite number nor null, throws INVALID_INPUT. @default none
   */
  healthIndicators?: readonly HealthIndicator[];
}

/** A worker that polls its task queue until stopped. */
export interface BbmWorkerHandle {
  /** The Temporal SDK worker, for advanced inspection (getState()); do not run() it again. */
  readonly worker: Worker;
  /** Port /metrics listens on, or undefined when metrics are off. */
  readonly metricsPort: number | undefined;
  /** Resolves once the worker has drained and every connection is closed; rejects if the worker crashed. */
  readonly done: Promise<void>;
  /** Stop polling, let in-flight jobs finish (up to 30 s), then close everything; resolves with `done`. */
  stop(): Promise<void>;
}

/**
 * The worker factory: connect to Postgres (applying bbm's own schema migrations to the `bbm`
 * schema if needed) and Temporal, and start polling. SIGINT and SIGTERM drain the worker
 * (in-flight jobs get 30 s to finish, the rest are retried elsewhere) and then `done` resolves.
 * Throws BbmError CONFIG_INVALID for a missing/unusable setting (DATABASE_URL unset, metrics port
 * taken), CANNOT_CONNECT when Postgres or Temporal is unreachable, DUPLICATE_WORK_FUNCTION for a
 * name registered twice, INVALID_INPUT for a bad work function name or health indicator.
 */
export async function startWorker(options: WorkerOptions = {}): Promise<BbmWorkerHandle> {
  const config = configFrom(options, { metricsPort: options.metricsPort });
  const registry = registryOf(options.workFunctions);
  const healthIndicators = new HealthRegistry([...(options.healthIndicators ?? [])]);
  const url = requireDatabaseUrl(config.databaseUrl);
  const logger = createLogger({ level: config.logLevel });
  const pool = createPool({ url, max: config.poolSize, applicationName: 'bbm-worker' });
  let running: Awaited<ReturnType<typeof runCliWorker>>;
  try {
    await checkConnection(pool, url);
    await migrateSchema(pool);
    running = await runCliWorker({ config, pool, logger, registry, healthIndicators });
  } catch (err) {
    await pool.end();
    throw err;
  }
  const done = running.done.finally(async () => {
    await running.stop();
    await pool.end();
  });
  logger.info(
    { task_queue: config.taskQueue, work_functions: registry.names(), health_indicators: healthIndicators.list().map((i) => i.name) },
    'bbm worker started; SIGTERM or Ctrl-C drains it',
  );
  return {
    worker: running.built.worker,
    metricsPort: running.metricsServer?.port,
    done,
    async stop() {
      await running.stop();
      await done;
    },
  };
}

/**
 * Start a worker and wait until it stops (SIGINT/SIGTERM, or a crash, which rejects). The usual
 * entry of a worker script: `await runWorker({ workFunctions: [myWork] })`. Same options and
 * errors as startWorker.
 */
export async function runWorker(options: WorkerOptions = {}): Promise<void> {
  const handle = await startWorker(options);
  await handle.done;
}
