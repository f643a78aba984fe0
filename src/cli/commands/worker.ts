import type { Command } from 'commander';
import { redactUrl } from '../../config';
import { checkConnection, createPool } from '../../db/pool';
import { migrateSchema } from '../../db/schema';
import { createLogger } from '../../logger';
import { action } from '../action';
import { ExitCode } from '../exit-codes';
import { loadWorkRegistry } from '../registry';
import { runWorker } from '../run-worker';

export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description("run a worker: migrates bbm's schema, polls the task queue, serves /metrics; SIGTERM/SIGINT drain it gracefully")
    .option('--work-module <path>', 'module exporting your work functions (default export: an array of WorkFunction)')
    .action(
      action<{ workModule?: string }>(async (ctx, _args, opts) => {
        const { config } = ctx;
        const url = ctx.databaseUrl;
        const registry = loadWorkRegistry(opts.workModule);
        const logger = createLogger({ level: config.logLevel });
        const pool = createPool({ url, max: config.poolSize, applicationName: 'bbm-worker' });
        try {
          await checkConnection(pool, url);
          const applied = await migrateSchema(pool);
          if (applied.length > 0) logger.info({ versions: applied }, 'applied bbm schema migrations');
          const worker = await runWorker({ config, pool, logger, registry });
          logger.info(
            {
              task_queue: config.taskQueue,
              namespace: config.temporal.namespace,
              temporal_address: config.temporal.address ?? 'localhost:7233',
              database: redactUrl(url),
              metrics: worker.metricsServer ? `http://0.0.0.0:${worker.metricsServer.port}/metrics` : 'off',
              work_functions: registry.names(),
              max_concurrent_activities: config.maxConcurrentActivities,
            },
            'worker started; SIGTERM or Ctrl-C drains it',
          );
          try {
            await worker.done;
          } finally {
            await worker.stop();
          }
          logger.info('worker stopped');
        } finally {
          await pool.end();
        }
        return ExitCode.OK;
      }),
    );
}
