import type { Pool } from 'pg';
import { schemaVersion } from '../src/db/schema';
import { checkInput } from './failures';

/** A round trip through the worker to Postgres: what `bbm doctor` and the smoke test check. */
export function createHealthActivities(deps: { pool: Pool }) {
  return {
    async databaseInfo(input: Record<string, never> = {}): Promise<{ serverVersion: string; database: string; schemaVersion: number }> {
      checkInput('databaseInfo', input);
      const { rows } = await deps.pool.query("SELECT current_setting('server_version') AS v, current_database() AS db");
      return { serverVersion: String(rows[0].v), database: String(rows[0].db), schemaVersion: await schemaVersion(deps.pool) };
    },
  };
}

export type HealthActivities = ReturnType<typeof createHealthActivities>;
