import type { Pool } from 'pg';
import type { BbmConfig } from '../config';
import { freePort } from '../dev/ports';
import type { WorkRegistry } from '../engine/registry';
import type { HealthRegistry } from '../health/registry';
import { BbmError, ErrorCode } from '../errors';
import type { Logger } from '../logger';
import { BbmMetrics, serveMetrics, type MetricsServer } from '../metrics';
import type { BbmWorker } from '../worker';

export interface RunningWorker {
  built: BbmWorker;
  /** Resolves when the worker has shut down (after SIGINT/SIGTERM or stop()); rejects if it crashed. */
  done: Promise<void>;
  metricsServer: MetricsServer | undefined;
  /** Stop polling, let in-flight jobs finish (up to the grace time), close connections and the metrics server. */
  stop(): Promise<void>;
}

export interface RunWorkerOptions {
  config: BbmConfig;
  pool: Pool;
  logger: Logger;
  registry: WorkRegistry;
  /** Where /metrics listens. @default "0.0.0.0" (containers are scraped from outside) */
  metricsHost?: string;
  /** Custom health indicators checked besides the built-ins. @default none */
  healthIndicators?: HealthRegistry;
  /** A taken metrics port is fatal for `bbm worker` but only a warning for `bbm dev`. @default true */
  metricsRequired?: boolean;
}

/**
 * Build and run the worker the way every bbm process does: the SDK's Prometheus exporter on a
 * private loopback port, re-served after bbm's own metrics on one /metrics endpoint. SIGINT and
 * SIGTERM make the SDK runtime drain the worker, so `done` resolves on its own then.
 */
export async function runWorker(options: RunWorkerOptions): Promise<RunningWorker> {
  const { config, pool, logger } = options;
  // Loaded on demand: the SDK's worker package is heavy, and most commands never need it.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { installRuntime, createBbmWorker } = require('../worker') as typeof import('../worker');
  // Must precede the first NativeConnection: the runtime (and its exporter) is created once per process.
  const sdkPort = await freePort();
  installRuntime({ sdkMetricsAddress: `127.0.0.1:${sdkPort}`, logger });
  const metrics = new BbmMetrics({ defaultMetrics: true });
  const built = await createBbmWorker({
    config,
    pool,
    logger,
    registry: options.registry,
    metrics,
    healthIndicators: options.healthIndicators,
  });
  let metricsServer: MetricsServer | undefined;
  if (config.metricsPort > 0) {
    try {
      metricsServer = await serveMetrics(
        metrics,
        config.metricsPort,
        `http://127.0.0.1:${sdkPort}/metrics`,
        options.metricsHost ?? '0.0.0.0',
      );
    } catch (err) {
      const message = `Cannot serve metrics on port ${config.metricsPort}: ${(err as Error).message}. Set BBM_METRICS_PORT to a free port, or 0 to turn metrics off.`;
      if (options.metricsRequired ?? true) {
        await built.close();
        throw new BbmError(ErrorCode.CONFIG_INVALID, message, { setting: 'BBM_METRICS_PORT' });
      }
      logger.warn({ port: config.metricsPort }, message);
    }
  }
  const done = built.worker.run();
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (built.worker.getState() === 'RUNNING') built.worker.shutdown();
      await done.catch(() => undefined);
      await built.close().catch(() => undefined);
      await metricsServer?.close();
    })();
    return stopping;
  };
  return { built, done, metricsServer, stop };
}
