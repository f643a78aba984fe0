import { Pool, type PoolConfig } from 'pg';
import { redactUrl } from '../config';
import { cannotConnect } from '../errors';

export interface CreatePoolOptions {
  url: string;
  max: number;
  /** Shown in pg_stat_activity, so DBAs can tell bbm's sessions apart. */
  applicationName?: string;
}

export function createPool(options: CreatePoolOptions): Pool {
  const config: PoolConfig = {
    connectionString: options.url,
    max: options.max,
    application_name: options.applicationName ?? 'bbm',
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: 10_000,
  };
  const pool = new Pool(config);
  // An idle client losing its connection (Postgres restart) must not crash the process;
  // the next checkout simply opens a new connection.
  pool.on('error', () => undefined);
  return pool;
}

/** Fail fast with CANNOT_CONNECT (and no password in the message) when Postgres is unreachable. */
export async function checkConnection(pool: Pool, url: string): Promise<void> {
  try {
    await pool.query('SELECT 1');
  } catch (err) {
    throw cannotConnect('Postgres', redactUrl(url), err, 'Check DATABASE_URL and that the server is running.');
  }
}
