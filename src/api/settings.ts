import { resolveConfig, type BbmConfig } from '../config';
import { BbmError, ErrorCode } from '../errors';
import { BUILTIN_WORK } from '../engine/builtin-work';
import { WorkRegistry, type WorkFunction } from '../engine/registry';

/**
 * Where bbm connects, for the library API. Every field is optional and falls back to the same
 * environment variables the CLI reads (src/config.ts): DATABASE_URL, TEMPORAL_ADDRESS,
 * TEMPORAL_NAMESPACE (and Temporal's TLS/API-key variables), BBM_TASK_QUEUE, BBM_LOG_LEVEL,
 * BBM_METRICS_PORT, BBM_MAX_CONCURRENT_ACTIVITIES.
 */
export interface ConnectionSettings {
  /** Postgres connection string of the database bbm manages. @default env DATABASE_URL (required one way or the other) */
  databaseUrl?: string;
  /** Temporal frontend, host:port. @default env TEMPORAL_ADDRESS, else localhost:7233 */
  temporalAddress?: string;
  /** @default env TEMPORAL_NAMESPACE, else "default" */
  namespace?: string;
  /** Task queue of the bbm workers. @default env BBM_TASK_QUEUE, else "bbm" */
  taskQueue?: string;
  /** "trace" | "debug" | "info" | "warn" | "error" | "silent". @default env BBM_LOG_LEVEL, else "info" */
  logLevel?: string;
  /** Environment to read the defaults from. @default process.env */
  env?: NodeJS.ProcessEnv;
}

/** Resolve settings once; throws BbmError CONFIG_INVALID naming the setting when a value is unusable. */
export function configFrom(settings: ConnectionSettings, extra: { metricsPort?: number } = {}): BbmConfig {
  return resolveConfig(settings.env ?? process.env, {
    databaseUrl: settings.databaseUrl,
    temporalAddress: settings.temporalAddress,
    namespace: settings.namespace,
    taskQueue: settings.taskQueue,
    logLevel: settings.logLevel,
    ...(extra.metricsPort !== undefined ? { metricsPort: extra.metricsPort } : {}),
  });
}

/** The built-in work functions plus the user's (a name twice throws DUPLICATE_WORK_FUNCTION). */
export function registryOf(workFunctions: readonly WorkFunction[] = []): WorkRegistry {
  return new WorkRegistry([...BUILTIN_WORK, ...workFunctions]);
}

/** The database URL, or BbmError CONFIG_INVALID when neither `databaseUrl` nor DATABASE_URL gave one. */
export function requireDatabaseUrl(url: string | undefined): string {
  if (url) return url;
  throw new BbmError(ErrorCode.CONFIG_INVALID, 'No database configured: pass databaseUrl or set DATABASE_URL.', {
    setting: 'DATABASE_URL',
  });
}
