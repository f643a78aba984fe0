import type { Pool } from 'pg';
import { schemaVersion } from '../src/db/schema';
import { serverInfo } from '../src/store/server';
import { checkHealth, type CheckHealthInput, type CheckHealthResult } from '../src/health/check';
import { HealthMonitor } from '../src/health/monitor';
import type { HealthRegistry } from '../src/health/registry';
import type { BbmMetrics } from '../src/metrics';
import { adapt, checkInput } from './failures';

export interface HealthActivityDeps {
  pool: Pool;
  metrics?: BbmMetrics;
  /** Custom health indicators of this worker, besides the built-ins. @default none */
  healthIndicators?: HealthRegistry;
}

/** Health activities: the `bbm doctor` round trip, and the database health check a repository runs before its jobs. */
export function createHealthActivities(deps: HealthActivityDeps) {
  // One monitor per worker: repositories on it share cached readings of the same table.
  const monitor = new HealthMonitor({ db: deps.pool, indicators: deps.healthIndicators });
  return {
    async databaseInfo(input: Record<string, never> = {}): Promise<{ serverVersion: string; database: string; schemaVersion: number }> {
      checkInput('databaseInfo', input);
      return { ...(await serverInfo(deps.pool)), schemaVersion: await schemaVersion(deps.pool) };
    },

    /**
     * Read and judge the health indicators for a repository's current table (or a migration's, or
     * a table's), reusing readings younger than `thresholds.healthCheckIntervalMs`. Fresh readings
     * are published as gauges, and the thresholds on every check, labelled by repository. Bad input fails non-retryably with its code; database errors retry.
     */
    async checkHealth(input: CheckHealthInput): Promise<CheckHealthResult> {
      checkInput('checkHealth', input);
      return adapt(async () => {
        const result = await checkHealth({ db: deps.pool, monitor, indicators: deps.healthIndicators }, input);
        deps.metrics?.recordHealth(result.readings, result.thresholds, input.repository ?? '', !result.cached);
        return result;
      });
    },

    /**
     * Count time a repository held its jobs back (`bbm_throttled_seconds_total{repository,indicator}`,
     * each indicator that held it gets the full time). The workflow measures `throttledMs` between
     * two health readings on the database's clock. Bad input fails non-retryably with its code.
     */
    recordThrottled(input: { repository: string; indicators: string[]; throttledMs: number }): Promise<void> {
      checkInput('recordThrottled', input);
      deps.metrics?.recordThrottled(input.repository, input.indicators, input.throttledMs / 1000);
      return Promise.resolve();
    },
  };
}

export type HealthActivities = ReturnType<typeof createHealthActivities>;
