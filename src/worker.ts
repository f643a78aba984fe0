import fs from 'node:fs';
import v8 from 'node:v8';
import { Client } from '@temporalio/client';
import {
  bundleWorkflowCode,
  DefaultLogger,
  Runtime,
  Worker,
  type NativeConnection,
  type WorkerInterceptors,
  type WorkflowBundleOption,
} from '@temporalio/worker';
import type { Pool } from 'pg';
import { createActivities } from '../activities';
import type { BbmConfig } from './config';
import { BUILTIN_WORK } from './engine/builtin-work';
import { WorkRegistry } from './engine/registry';
import type { HealthRegistry } from './health/registry';
import type { Logger } from './logger';
import { sdkLogger } from './sdk-logger';
import { BbmMetrics } from './metrics';
import { maxRunAheads, RunAheads } from './engine/run-ahead';
import { connectWorker } from './temporal/connection';
import { prebuiltBundlePath, workflowBundleOptions } from './workflow-bundle';

export interface CreateWorkerOptions {
  config: BbmConfig;
  pool: Pool;
  logger: Logger;
  /** Work functions this worker can run. @default the built-ins */
  registry?: WorkRegistry;
  /** Custom health indicators checked besides the built-ins. @default none */
  healthIndicators?: HealthRegistry;
  metrics?: BbmMetrics;
  /** A prebuilt workflow bundle (tests build one per run); otherwise bundled from workflows/ once per process. */
  workflowBundle?: WorkflowBundleOption;
  connection?: NativeConnection;
  client?: Client;
  /** Shown in the web UI's worker list. */
  identity?: string;
  /** Activity interceptors (tracing, or tests that hold an activity at a chosen moment). @default none */
  interceptors?: Pick<WorkerInterceptors, 'activity'>;
}

export interface BbmWorker {
  worker: Worker;
  client: Client;
  metrics: BbmMetrics;
  registry: WorkRegistry;
  /** The worker's run-aheads (src/engine/run-ahead.ts); `stats()` counts them by outcome. */
  runAheads: RunAheads;
  /** Close the connections this factory opened (not the pool, which the caller owns). */
  close(): Promise<void>;
}

export { WORKFLOWS_PATH } from './workflow-bundle';

let bundlePromise: Promise<WorkflowBundleOption> | undefined;
/**
 * The workflow bundle: the one the package build wrote next to the compiled code (dist/), or, when
 * running the TypeScript sources, one bundled now. Bundling takes seconds and leaves the bundler's
 * memory behind, so every worker of the process shares one bundle.
 */
export function workflowBundle(): Promise<WorkflowBundleOption> {
  const prebuilt = prebuiltBundlePath(__filename, fs.existsSync);
  bundlePromise ??= prebuilt
    ? Promise.resolve({ codePath: prebuilt })
    : bundleWorkflowCode({ ...workflowBundleOptions(), logger: new DefaultLogger('WARN') }).then((b) => ({ code: b.code }));
  return bundlePromise;
}

let runtimeInstalled = false;
/**
 * Install the SDK runtime once per process: SDK and core logs at warn level (through bbm's logger
 * when given, see sdkLogger), and the SDK's Prometheus metrics when asked.
 */
export function installRuntime(options: { sdkMetricsAddress?: string; logger?: Logger } = {}): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  Runtime.install({
    logger: options.logger ? sdkLogger(options.logger) : new DefaultLogger('WARN'),
    telemetryOptions: {
      // Core's own lines are forwarded to the logger above instead of printed raw to the console.
      ...(options.logger ? { logging: { filter: { core: 'WARN', other: 'WARN' }, forward: {} } } : {}),
      ...(options.sdkMetricsAddress ? { metrics: { prometheus: { bindAddress: options.sdkMetricsAddress } } } : {}),
    },
  });
}

/**
 * The SDK starts the workflow thread without resource limits, so its heap comes from V8's flags; a
 * flag set now applies to isolates created from now on (the thread Worker.create starts), not to
 * the main thread's. Besides the old-generation limit (WorkflowCacheSettings.workflowHeapMB), the
 * young generation is kept at 4 MB per semi-space instead of 16: on the bench (1,000 repositories
 * at once) that made the worker smaller and its starts no slower. See README "Worker memory".
 */
function limitWorkflowThreadHeap(megabytes: number): void {
  if (megabytes > 0) v8.setFlagsFromString(`--max-old-space-size=${megabytes} --max-semi-space-size=4`);
}

/**
 * The one way bbm builds a worker: the `bbm worker` command, `npm start`'s demo and the tests
 * all come through here, so tests exercise what ships.
 */
export async function createBbmWorker(options: CreateWorkerOptions): Promise<BbmWorker> {
  const { config, pool, logger } = options;
  installRuntime({ logger });
  const registry = options.registry ?? new WorkRegistry([...BUILTIN_WORK]);
  const metrics = options.metrics ?? new BbmMetrics();
  const ownsConnection = !options.connection;
  const connection = options.connection ?? (await connectWorker(config));
  // The activities' client (enqueuer starts, describes, signals) shares the worker's native
  // connection: no second connection, and gRPC runs in Temporal Core instead of on the JS heap.
  const client = options.client ?? new Client({ connection, namespace: config.temporal.namespace });
  limitWorkflowThreadHeap(config.workflowCache.workflowHeapMB);
  const runAheads = new RunAheads(
    pool,
    { ...config.runAhead, maxOpen: maxRunAheads(config.poolSize) },
    {
      onOutcome: (outcome) => metrics.runAheads.inc({ outcome }),
      onClaimWait: (ms) => metrics.runAheadClaimWait.observe(ms / 1000),
    },
  );
  const worker = await Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.taskQueue,
    workflowBundle: options.workflowBundle ?? (await workflowBundle()),
    activities: createActivities({ pool, registry, logger, metrics, client, runAheads, healthIndicators: options.healthIndicators }),
    ...(options.identity ? { identity: options.identity } : {}),
    ...(options.interceptors ? { interceptors: options.interceptors } : {}),
    maxConcurrentActivityTaskExecutions: config.maxConcurrentActivities,
    // The SDK would size the cache from the heap limit; bbm bounds it (see WorkflowCacheSettings).
    maxCachedWorkflows: config.workflowCache.maxCachedWorkflows,
    maxConcurrentWorkflowTaskExecutions: config.workflowCache.maxConcurrentWorkflowTasks,
    workflowThreadPoolSize: config.workflowCache.workflowThreads,
    // On SIGTERM/SIGINT, in-flight jobs get this long to finish before they are handed back.
    shutdownGraceTime: '30 seconds',
    // Cancellation reaches a running job in a heartbeat reply: send them often so it lands within ~1 s.
    maxHeartbeatThrottleInterval: '1 second',
    defaultHeartbeatThrottleInterval: '1 second',
  });
  return {
    worker,
    client,
    metrics,
    registry,
    runAheads,
    async close() {
      await runAheads.abandonAll();
      if (ownsConnection) await connection.close();
    },
  };
}
