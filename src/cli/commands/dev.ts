import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import pino from 'pino';
import type { Pool } from 'pg';
import { redactUrl, withTemporalAddress, type BbmConfig } from '../../config';
import { checkConnection, createPool } from '../../db/pool';
import { migrateSchema } from '../../db/schema';
import { startDevStack, type DevStack } from '../../dev/stack';
import { startClusterStack, type ClusterStack } from '../../dev/cluster-stack';
import { runDemo } from '../../demo';
import { createLogger, type Logger } from '../../logger';
import { action } from '../action';
import type { CliContext } from '../context';
import { ExitCode } from '../exit-codes';
import { integerIn } from '../parse';
import { loadWorkRegistry } from '../registry';
import { runWorker, type RunningWorker } from '../run-worker';

interface DevOptions {
  demo?: boolean;
  rows: number;
  repos: number;
  capacity: number;
  direct?: boolean;
  exitWhenDone?: boolean;
  workModule?: string;
  /** Nodes of a local Temporal cluster on Postgres instead of the dev server (`--cluster` alone: 3). */
  cluster?: number | true;
}

export function registerDev(program: Command): void {
  program
    .command('dev')
    .description(
      'run the local stack: Postgres, the Temporal dev server and web UI (state kept under BBM_DATA_DIR) and a worker; Ctrl-C stops all of it',
    )
    .option('--demo', 'also run the demo: generate a dataset, define one migration per repository, run them all')
    .option('--rows <n>', 'demo: rows to generate', integerIn(1, 100_000_000), 1_000_000)
    .option('--repos <n>', 'demo: repositories to spread them over', integerIn(1, 10_000), 50)
    .option('--capacity <n>', 'demo: repository workflows the enqueuer runs at once', integerIn(1, 1000), 10)
    .option('--direct', 'demo: start every repository workflow directly instead of through the enqueuer')
    .option('--exit-when-done', 'demo: stop everything and exit once the demo has finished (exit 3 if a migration failed)')
    .option('--work-module <path>', 'module exporting your work functions, for the in-process worker')
    .option(
      '--cluster [nodes]',
      'run Temporal as a cluster of N server nodes (default 3) on Postgres persistence and visibility, as in production, instead of the dev server',
      integerIn(1, 9),
    )
    .action(action<DevOptions>((ctx, _args, opts) => dev(ctx, opts)));
}

/**
 * The order matters for "nothing left running": a signal never exits the process directly. It
 * ends the wait, then the worker drains, then the pool closes, then the services stop, and only
 * then does the process exit. A second Ctrl-C (2 s or more after the first) skips the draining.
 */
async function dev(ctx: CliContext, opts: DevOptions): Promise<number> {
  const { out } = ctx;
  const base = ctx.config;
  const consoleLogger = createLogger({ level: base.logLevel === 'info' ? 'info' : base.logLevel });
  let signalled: NodeJS.Signals | undefined;
  let stack: DevStack | undefined;
  const abort = new AbortController();
  let firstSignalAt = 0;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (signalled) {
      // Under `npm start`, one Ctrl-C can arrive twice (from the terminal and relayed by tsx).
      if (Date.now() - firstSignalAt < 2_000) return;
      out.note('bbm dev: second signal, stopping the services now');
      void (stack?.stop() ?? Promise.resolve()).finally(() => process.exit(130));
      return;
    }
    signalled = sig;
    firstSignalAt = Date.now();
    out.note(`\nbbm dev: ${sig} received, shutting down (worker, then Postgres and Temporal)...`);
    abort.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  let pool: Pool | undefined;
  let worker: RunningWorker | undefined;
  try {
    if (opts.cluster) {
      const nodes = opts.cluster === true ? 3 : opts.cluster;
      out.line(
        `bbm dev: starting Postgres and a ${nodes}-node Temporal cluster (first run: builds the Temporal server, schema tool and UI with Go)...`,
      );
      stack = await startClusterStack({ config: base, logger: consoleLogger, ephemeral: false, nodes, ui: true });
    } else {
      out.line('bbm dev: starting Postgres and the Temporal dev server (first run: may build the Temporal CLI)...');
      stack = await startDevStack({ config: base, logger: consoleLogger, ephemeral: false, ui: true });
    }
    if (signalled) return exitFor(signalled);
    const config: BbmConfig = withTemporalAddress({ ...base, databaseUrl: stack.databaseUrl }, stack.temporalAddress);
    pool = createPool({ url: stack.databaseUrl, max: config.poolSize, applicationName: 'bbm-dev' });
    await checkConnection(pool, stack.databaseUrl);
    await migrateSchema(pool);

    const registry = loadWorkRegistry(opts.workModule);
    const logFile = opts.demo ? path.join(config.dataDir, 'logs', 'worker.log') : undefined;
    const workerLogger = logFile ? fileLogger(config, logFile) : consoleLogger;
    worker = await runWorker({ config, pool, logger: workerLogger, registry, metricsHost: '127.0.0.1', metricsRequired: false });
    printBanner(ctx, base, config, stack, worker, logFile);

    let code: number = ExitCode.OK;
    if (opts.demo && !signalled) {
      const result = await runDemo(
        { pool, client: worker.built.client, config, registry, out, uiUrl: stack.uiUrl, signal: abort.signal },
        { rows: opts.rows, repositories: opts.repos, capacity: opts.capacity, direct: Boolean(opts.direct) },
      );
      code = result.failed > 0 ? ExitCode.MIGRATION_FAILED : ExitCode.OK;
      if (opts.exitWhenDone && !signalled) return code;
    }
    if (!signalled) {
      out.line(
        opts.demo
          ? '\nThe worker and the web UI keep running so you can look around. Ctrl-C stops everything.'
          : 'Ctrl-C stops everything.',
      );
      await Promise.race([new Promise((r) => abort.signal.addEventListener('abort', r, { once: true })), worker.done]);
    }
    return signalled ? exitFor(signalled) : code;
  } finally {
    // A terminal's Ctrl-C also reaches Postgres and Temporal (same process group), and a worker cut
    // off from them cannot drain: do not wait long. An unfinished job simply rolls back.
    if (worker) await withDeadline(worker.stop(), 15_000, () => out.note('bbm dev: the worker did not drain in 15s; stopping anyway'));
    await pool?.end().catch(() => undefined);
    if (stack) await stack.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (signalled) out.note('bbm dev: stopped; nothing is left running.');
  }
}

function exitFor(signal: NodeJS.Signals): number {
  return signal === 'SIGINT' ? 130 : 143;
}

function fileLogger(config: BbmConfig, file: string): Logger {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const destination = pino.destination({ dest: file, sync: true, append: true });
  return createLogger({ level: config.logLevel, pretty: false, destination: destination as unknown as NodeJS.WritableStream });
}

const DEFAULT_TASK_QUEUE = 'bbm';

function printBanner(
  ctx: CliContext,
  given: BbmConfig,
  config: BbmConfig,
  stack: DevStack,
  worker: RunningWorker,
  logFile: string | undefined,
): void {
  const { out } = ctx;
  const ns = encodeURIComponent(config.temporal.namespace);
  const rows: [string, string][] = [];
  if (stack.uiUrl) rows.push(['Temporal web UI', `${stack.uiUrl}/namespaces/${ns}/workflows`]);
  rows.push(['Postgres', redactUrl(stack.databaseUrl)]);
  rows.push(['Temporal', `${stack.temporalAddress} (namespace ${config.temporal.namespace}, task queue ${config.taskQueue})`]);
  if ('cluster' in stack) rows.push(['Cluster frontends', (stack as ClusterStack).cluster.frontends.join(', ')]);
  if (worker.metricsServer) rows.push(['Worker metrics', `http://127.0.0.1:${worker.metricsServer.port}/metrics`]);
  if (logFile) rows.push(['Worker logs', logFile]);
  rows.push(['State kept in', config.dataDir]);
  const width = Math.max(...rows.map(([k]) => k.length));
  out.line('');
  out.line('bbm dev is up.');
  for (const [k, v] of rows) out.line(`  ${k.padEnd(width)}  ${v}`);
  out.line('');
  out.line('Use it from another shell, in this directory:');
  // A DATABASE_URL the user gave is theirs (and may hold a password): it is never echoed back.
  if (!given.databaseUrl) out.line(`  export DATABASE_URL=${stack.databaseUrl}`);
  out.line(`  export TEMPORAL_ADDRESS=${stack.temporalAddress}`);
  if (config.taskQueue !== DEFAULT_TASK_QUEUE) out.line(`  export BBM_TASK_QUEUE=${config.taskQueue}`);
  out.line('  node bin/bbm.js migrations status');
  out.line('');
}

async function withDeadline(promise: Promise<void>, ms: number, onTimeout: () => void): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    promise.catch(() => undefined),
    new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        onTimeout();
        resolve();
      }, ms);
    }),
  ]);
  clearTimeout(timer);
}
