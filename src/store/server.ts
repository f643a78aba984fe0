import type { Queryable } from './types';

/** Facts about the database server itself, for `bbm doctor`, the health-check workflow and the workflow's clock. */

export interface ServerInfo {
  /** `server_version`, e.g. "17.5". */
  serverVersion: string;
  /** The connected database's name. */
  database: string;
}

export async function serverInfo(db: Queryable): Promise<ServerInfo> {
  const { rows } = await db.query("SELECT current_setting('server_version') AS v, current_database() AS db");
  return { serverVersion: String(rows[0].v), database: String(rows[0].db) };
}

/**
 * The database's clock (start of the current transaction), as ISO 8601. The repository workflow
 * keeps no wall clock of its own, so its durations are measured on this one clock.
 */
export async function databaseNow(db: Queryable): Promise<string> {
  const { rows } = await db.query('SELECT now() AS now');
  return (rows[0].now as Date).toISOString();
}
