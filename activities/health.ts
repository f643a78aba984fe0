import type { Pool } from 'pg';
import { schemaVersion } from '../src/db/schema';
import { serverInfo } from '../src/store/server';

/** A round trip through the worker to Postgres: what `bbm doctor` and the smoke test check. */
export function createHealthActivities(deps: { pool: Pool }) {
  return {
    async databaseInfo(_input: Record<string, never> = {}): Promise<{ serverVersion: string; database: string; schemaVersion: number }> {
      return { ...(await serverInfo(deps.pool)), schemaVersion: await schemaVersion(deps.pool) };
    },
  };
}

export type HealthActivities = ReturnType<typeof createHealthActivities>;
