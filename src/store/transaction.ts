import type { Pool, PoolClient } from 'pg';

/**
 * Run `fn` in one transaction on one connection. A connection that failed mid-transaction is
 * destroyed instead of returned to the pool, so a broken session is never reused.
 */
export async function withTransaction<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  // A lost connection surfaces as the failing query's error; the client's 'error' event, unheard
  // while checked out, would otherwise crash the process.
  const onClientError = (): void => undefined;
  client.on('error', onClientError);
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    try {
      await client.query('ROLLBACK');
    } catch (rollbackError) {
      broken = rollbackError as Error;
    }
    throw err;
  } finally {
    client.off('error', onClientError);
    client.release(broken);
  }
}
