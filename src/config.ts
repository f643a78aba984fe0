import fs from 'node:fs';
import path from 'node:path';
import { loadClientConfigProfile, toClientOptions, type ClientConfigProfile } from '@temporalio/envconfig';
import type { NativeConnectionOptions } from '@temporalio/worker';
import { BbmError, configError, ErrorCode } from './errors';

/**
 * The whole of bbm's configuration, resolved once at start-up (defaults, then environment,
 * then flags). Nothing else reads bbm's settings from `process.env`. The exceptions:
 * - the entry points hand `process.env` to resolveConfig as the default environment, so a caller
 *   can pass its own: the CLI (src/cli/context.ts), the library (src/api/settings.ts, the
 *   `env` option) and the schema-migration helper (src/schema-migrations.ts, `env` of `run`);
 * - src/cli/main.ts reads BBM_LOG_LEVEL itself to decide whether an unexpected error prints its
 *   stack trace, since the error may come before the configuration was resolved, or from resolving it;
 * - src/dev/ reads PATH to find the binaries it runs (temporal, go, postgres, unshare) and passes
 *   the environment on to the child processes it starts (`go install`).
 */
export interface BbmConfig {
  /** Postgres connection string. Unset means "start the embedded development Postgres". */
  databaseUrl: string | undefined;
  temporal: TemporalSettings;
  /** Task queue the bbm worker polls. @default "bbm" */
  taskQueue: string;
  /** @default "info" */
  logLevel: LogLevel;
  /** Port of the worker's Prometheus endpoint; 0 turns it off. @default 9464 */
  metricsPort: number;
  /** Activities one worker runs at once; each holds at most one Postgres connection. @default 20 */
  maxConcurrentActivities: number;
  /** Size of the worker's Postgres pool. @default maxConcurrentActivities + 2 */
  poolSize: number;
  /** Run-ahead: a job's successor does its SQL during the job's round trip through the workflow (src/engine/run-ahead.ts). */
  runAhead: RunAheadConfig;
  /** Bounds on the worker's workflow side, which decide its memory (see WorkflowCacheSettings). */
  workflowCache: WorkflowCacheSettings;
  /** Where `npm start` keeps Postgres and Temporal data. @default "<project>/.data" */
  dataDir: string;
  /** Where the Temporal CLI binary is cached. @default "<project>/.tools" */
  toolsDir: string;
  /** Explicit path to a `temporal` binary (TEMPORAL_CLI). */
  temporalCli: string | undefined;
  /** Where the connection settings came from, for messages about them (unset ones are absent). */
  origins: SettingOrigins;
  /** Explicit paths of the binaries a local cluster runs (TEMPORAL_SERVER, TEMPORAL_SQL_TOOL, TEMPORAL_UI_SERVER); see src/dev/temporal-cluster-tools.ts. */
  clusterBinaries: { server: string | undefined; sqlTool: string | undefined; uiServer: string | undefined };
}

/**
 * Run-ahead (README "Run-ahead"): when a job commits having found its successor, the worker opens
 * the successor's transaction and runs its work at once, uncommitted, for the workflow's next
 * executeJob to finish. Costs: the next batch's row locks are held during the round trip (a few
 * ms), and a run-ahead nobody claims is rolled back like a failed attempt.
 */
export interface RunAheadConfig {
  /** @default true (BBM_RUN_AHEAD=1; 0 turns it off) */
  enabled: boolean;
  /**
   * Roll back a run-ahead not claimed within this many ms. The claim normally comes one round trip
   * through the workflow later (~4-10 ms on a loaded 2-core machine); 300 ms is 30 of those, so a
   * slow workflow task rarely wastes a run-ahead, and a writer of the migration row from outside
   * the worker (bbm pause's request) waits at most this long. @default 300 (BBM_RUN_AHEAD_IDLE_MS)
   */
  idleMs: number;
}

/**
 * How many workflow executions one worker keeps in memory, and works on at once. Each cached
 * execution holds its state in the workflow thread's V8 heap and its history state in Temporal
 * Core; an evicted one is rebuilt by replaying its history at its next workflow task. The SDK's
 * own default sizes the cache from the heap limit (about 2,300 on a machine with 24 GB), which
 * lets a worker with 1,000 repositories running grow to hundreds of MB: these bound it.
 */
export interface WorkflowCacheSettings {
  /** Sticky cache size (Worker option `maxCachedWorkflows`); 0 turns the cache off. @default 250 (BBM_MAX_CACHED_WORKFLOWS) */
  maxCachedWorkflows: number;
  /** Workflow tasks processed at once (`maxConcurrentWorkflowTaskExecutions`); at most maxCachedWorkflows. @default 40 (BBM_MAX_CONCURRENT_WORKFLOW_TASKS) */
  maxConcurrentWorkflowTasks: number;
  /**
   * Old-generation limit of the workflow thread's V8 heap, in MB. Without one V8 sizes it from the
   * machine's memory (about 4 GB on 24 GB) and lets garbage from evicted and replayed workflows pile
   * up to several hundred MB before it collects; a limit makes it collect sooner. Too small a limit
   * for the cache fails the worker with an out-of-memory error, so the default grows with the
   * cache (about 1 MB per cached workflow, the SDK's own estimate). 0 leaves V8's default.
   * @default 64 + maxCachedWorkflows (BBM_WORKFLOW_HEAP_MB)
   */
  workflowHeapMB: number;
  /**
   * Threads that run workflow code (`workflowThreadPoolSize`), each with its own V8 heap (limited as
   * above). A second one lets a worker create and replay workflows on two cores, at the cost of
   * that heap. @default 1, the SDK's own with reuseV8Context (BBM_WORKFLOW_THREADS)
   */
  workflowThreads: number;
}

/** A flag (`--database-url`), an environment variable (`DATABASE_URL`), or the Temporal CLI profile's config file. */
export type SettingOrigin = 'flag' | 'env' | 'profile';

export interface SettingOrigins {
  databaseUrl?: SettingOrigin;
  temporalAddress?: SettingOrigin;
}

export interface TemporalSettings {
  /** host:port of the frontend; undefined until a dev server supplies one. */
  address: string | undefined;
  namespace: string;
  /** True when an API key or TLS is configured (used only to describe the connection, never logged raw). */
  secure: boolean;
  /** Resolved by Temporal's own envconfig: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS_*, TEMPORAL_PROFILE, TEMPORAL_CONFIG_FILE. */
  connectionOptions: NativeConnectionOptions;
  /**
   * How often (seconds) the worker re-resolves the address's host name, whose every address it
   * spreads its calls over (Temporal Core's DNS load balancing), so that a host name with one
   * record per frontend survives the loss of a frontend; 0 turns it off. Core skips IP literals
   * and `localhost`. @default 30 (BBM_TEMPORAL_DNS_REFRESH_S)
   */
  dnsRefreshSeconds: number;
}

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'silent';
const LOG_LEVELS: readonly LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error', 'silent'];

/** Flags a command may pass; each overrides the environment. */
export interface ConfigFlags {
  databaseUrl?: string;
  temporalAddress?: string;
  namespace?: string;
  taskQueue?: string;
  logLevel?: string;
  metricsPort?: string | number;
  maxConcurrentActivities?: string | number;
}

/** bbm's own folder (the checkout, or node_modules/bbm when installed): the nearest package.json above this file. */
export const PROJECT_ROOT = packageRoot(__dirname);

function packageRoot(from: string): string {
  for (let dir = from; path.dirname(dir) !== dir; dir = path.dirname(dir)) if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
  return path.resolve(from, '..');
}

/** Resolve the configuration. Throws CONFIG_INVALID naming the setting when a value is unusable. */
export function resolveConfig(env: NodeJS.ProcessEnv = process.env, flags: ConfigFlags = {}): BbmConfig {
  const databaseUrl = nonEmpty(flags.databaseUrl) ?? nonEmpty(env.DATABASE_URL);
  if (databaseUrl !== undefined) validateDatabaseUrl(databaseUrl, flags.databaseUrl ? '--database-url' : 'DATABASE_URL');

  const maxConcurrentActivities = integerSetting(
    flags.maxConcurrentActivities ?? env.BBM_MAX_CONCURRENT_ACTIVITIES,
    20,
    flags.maxConcurrentActivities !== undefined ? '--max-concurrent-activities' : 'BBM_MAX_CONCURRENT_ACTIVITIES',
    1,
    1000,
  );

  const logLevel = (flags.logLevel ?? env.BBM_LOG_LEVEL ?? 'info').toLowerCase() as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) {
    throw configError(flags.logLevel ? '--log-level' : 'BBM_LOG_LEVEL', logLevel, `one of ${LOG_LEVELS.join(', ')}`);
  }

  const taskQueue = flags.taskQueue ?? env.BBM_TASK_QUEUE ?? 'bbm';
  if (!/^[\w.:-]{1,200}$/.test(taskQueue)) {
    throw configError(flags.taskQueue ? '--task-queue' : 'BBM_TASK_QUEUE', taskQueue, 'letters, digits, . _ : - (1-200 chars)');
  }

  const temporal = resolveTemporal(env, flags);
  return {
    databaseUrl,
    temporal,
    taskQueue,
    logLevel,
    metricsPort: integerSetting(flags.metricsPort ?? env.BBM_METRICS_PORT, 9464, 'BBM_METRICS_PORT', 0, 65535),
    maxConcurrentActivities,
    poolSize: integerSetting(env.BBM_PG_POOL_SIZE, maxConcurrentActivities + 2, 'BBM_PG_POOL_SIZE', 1, 1000),
    runAhead: {
      enabled: booleanSetting(env.BBM_RUN_AHEAD, true, 'BBM_RUN_AHEAD'),
      idleMs: integerSetting(env.BBM_RUN_AHEAD_IDLE_MS, 300, 'BBM_RUN_AHEAD_IDLE_MS', 1, 3_600_000),
    },
    workflowCache: resolveWorkflowCache(env),
    dataDir: path.resolve(env.BBM_DATA_DIR ?? path.join(PROJECT_ROOT, '.data')),
    toolsDir: path.resolve(env.BBM_TOOLS_DIR ?? path.join(PROJECT_ROOT, '.tools')),
    temporalCli: nonEmpty(env.TEMPORAL_CLI),
    origins: settingOrigins(env, flags, databaseUrl !== undefined, temporal.address !== undefined),
    clusterBinaries: {
      server: nonEmpty(env.TEMPORAL_SERVER),
      sqlTool: nonEmpty(env.TEMPORAL_SQL_TOOL),
      uiServer: nonEmpty(env.TEMPORAL_UI_SERVER),
    },
  };
}

/** Same configuration, pointed at another Temporal address (used once a dev server is up). */
export function withTemporalAddress(config: BbmConfig, address: string): BbmConfig {
  return {
    ...config,
    temporal: { ...config.temporal, address, connectionOptions: { ...config.temporal.connectionOptions, address } },
  };
}

function resolveTemporal(env: NodeJS.ProcessEnv, flags: ConfigFlags): TemporalSettings {
  let profile: ClientConfigProfile;
  try {
    profile = loadClientConfigProfile({ overrideEnvVars: definedOnly(env), profile: env.TEMPORAL_PROFILE });
  } catch (err) {
    throw new BbmError(
      ErrorCode.CONFIG_INVALID,
      `Temporal client configuration could not be loaded (TEMPORAL_CONFIG_FILE / TEMPORAL_PROFILE / TEMPORAL_* variables): ${(err as Error).message}`,
    );
  }
  if (flags.temporalAddress) profile = { ...profile, address: flags.temporalAddress };
  if (flags.namespace) profile = { ...profile, namespace: flags.namespace };
  if (profile.address !== undefined && !/^[\w.-]+(:\d{1,5})?$|^\[[0-9a-fA-F:]+\](:\d{1,5})?$/.test(profile.address)) {
    throw configError(flags.temporalAddress ? '--temporal-address' : 'TEMPORAL_ADDRESS', profile.address, 'host:port');
  }
  const namespace = profile.namespace ?? 'default';
  if (!/^[\w.-]{1,255}$/.test(namespace)) throw configError('TEMPORAL_NAMESPACE', namespace, 'a Temporal namespace name');
  const connect = toClientOptions(profile);
  return {
    address: profile.address,
    namespace,
    secure: Boolean(profile.apiKey) || (profile.tls !== undefined && !profile.tls.disabled),
    connectionOptions: connect.connectionOptions,
    dnsRefreshSeconds: integerSetting(env.BBM_TEMPORAL_DNS_REFRESH_S, 30, 'BBM_TEMPORAL_DNS_REFRESH_S', 0, 86_400),
  };
}

function resolveWorkflowCache(env: NodeJS.ProcessEnv): WorkflowCacheSettings {
  const maxCachedWorkflows = integerSetting(env.BBM_MAX_CACHED_WORKFLOWS, 250, 'BBM_MAX_CACHED_WORKFLOWS', 0, 100_000);
  // The SDK needs at least 2 task slots, and no more than the cache holds (when the cache is on).
  const maxTasks = maxCachedWorkflows === 0 ? 10_000 : Math.max(2, maxCachedWorkflows);
  const maxConcurrentWorkflowTasks = integerSetting(
    env.BBM_MAX_CONCURRENT_WORKFLOW_TASKS,
    Math.min(40, maxTasks),
    'BBM_MAX_CONCURRENT_WORKFLOW_TASKS',
    2,
    maxTasks,
  );
  if (maxCachedWorkflows === 1) throw configError('BBM_MAX_CACHED_WORKFLOWS', '1', '0 (no cache) or an integer from 2 to 100000');
  const workflowHeapMB = integerSetting(env.BBM_WORKFLOW_HEAP_MB, 64 + maxCachedWorkflows, 'BBM_WORKFLOW_HEAP_MB', 0, 1_000_000);
  if (workflowHeapMB > 0 && workflowHeapMB < 64)
    throw configError('BBM_WORKFLOW_HEAP_MB', String(workflowHeapMB), '0 (V8 default) or at least 64');
  const workflowThreads = integerSetting(env.BBM_WORKFLOW_THREADS, 1, 'BBM_WORKFLOW_THREADS', 1, 16);
  return { maxCachedWorkflows, maxConcurrentWorkflowTasks, workflowHeapMB, workflowThreads };
}

function settingOrigins(env: NodeJS.ProcessEnv, flags: ConfigFlags, hasDatabaseUrl: boolean, hasTemporalAddress: boolean): SettingOrigins {
  const origins: SettingOrigins = {};
  if (hasDatabaseUrl) origins.databaseUrl = nonEmpty(flags.databaseUrl) ? 'flag' : 'env';
  // An address from neither a flag nor TEMPORAL_ADDRESS came from the Temporal CLI profile's file.
  if (hasTemporalAddress) origins.temporalAddress = flags.temporalAddress ? 'flag' : nonEmpty(env.TEMPORAL_ADDRESS) ? 'env' : 'profile';
  return origins;
}

function validateDatabaseUrl(url: string, setting: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw configError(setting, redactUrl(url), 'a URL such as postgres://user:password@host:5432/db');
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw configError(setting, redactUrl(url), 'a postgres:// or postgresql:// URL');
  }
}

function booleanSetting(raw: string | undefined, fallback: boolean, setting: string): boolean {
  if (raw === undefined || raw === '') return fallback;
  if (raw === '1' || raw === '0') return raw === '1';
  throw configError(setting, raw, '1 (on) or 0 (off)');
}

function integerSetting(raw: string | number | undefined, fallback: number, setting: string, min: number, max: number): number {
  if (raw === undefined || raw === '') return fallback;
  const value = typeof raw === 'number' ? raw : Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw configError(setting, String(raw), `an integer from ${min} to ${max}`);
  }
  return value;
}

/** A URL with its password replaced, safe for logs and error messages. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

function definedOnly(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) if (value !== undefined) out[key] = value;
  return out;
}
