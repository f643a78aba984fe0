import fs from 'node:fs';
import path from 'node:path';
import type { Pool, PoolClient } from 'pg';

const MIGRATIONS_DIR = path.join(__dirname, 'migrations');
/** Any constant works; it only has to be the same in every bbm process. */
const SCHEMA_LOCK_KEY = 0x62626d; // "bbm"

export interface SchemaMigration {
  version: number;
  name: string;
  sql: string;
}

/** Numbered `.sql` files beside this module, in order. */
export function loadSchemaMigrations(dir: string = MIGRATIONS_DIR): SchemaMigration[] {
  return fs
    .readdirSync(dir)
    .filter((f) => /^\d{4}_[\w-]+\.sql$/.test(f))
    .sort()
    .map((file) => ({
      version: Number(file.slice(0, 4)),
      name: file.replace(/\.sql$/, ''),
      sql: fs.readFileSync(path.join(dir, file), 'utf8'),
    }));
}

/**
 * Create or upgrade bbm's schema. Each file runs in its own transaction under a transaction-level
 * advisory lock, so two processes starting at once apply every file exactly once: the second
 * waits, then sees the version recorded and skips it.
 */
export async function migrateSchema(pool: Pool, migrations: SchemaMigration[] = loadSchemaMigrations()): Promise<number[]> {
  const applied: number[] = [];
  const client = await pool.connect();
  const ignore = (): void => undefined; // a lost connection surfaces as the query's error
  client.on('error', ignore);
  let broken: Error | undefined;
  try {
    for (const migration of migrations) {
      if (await applyOne(client, migration)) applied.push(migration.version);
    }
  } catch (err) {
    broken = err as Error; // never hand a session in an unknown state back to the pool
    throw err;
  } finally {
    client.off('error', ignore);
    client.release(broken);
  }
  return applied;
}

async function applyOne(client: PoolClient, migration: SchemaMigration): Promise<boolean> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1)', [SCHEMA_LOCK_KEY]);
    await client.query('CREATE SCHEMA IF NOT EXISTS bbm');
    await client.query(
      'CREATE TABLE IF NOT EXISTS bbm.schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())',
    );
    const { rowCount } = await client.query('SELECT 1 FROM bbm.schema_migrations WHERE version = $1', [migration.version]);
    if (rowCount) {
      await client.query('COMMIT');
      return false;
    }
    await client.query(migration.sql);
    await client.query('INSERT INTO bbm.schema_migrations (version, name) VALUES ($1, $2)', [migration.version, migration.name]);
    await client.query('COMMIT');
    return true;
  } catch (err) {
    await client.query('ROLLBACK');
    throw err;
  }
}

/** 0 when bbm's schema was never created. */
export async function schemaVersion(pool: Pool): Promise<number> {
  // Two queries: a statement naming a missing table fails when parsed, whatever a CASE would skip.
  const exists = await pool.query<{ t: string | null }>("SELECT to_regclass('bbm.schema_migrations')::text AS t");
  if (!exists.rows[0]?.t) return 0;
  const { rows } = await pool.query<{ v: number | null }>('SELECT max(version) AS v FROM bbm.schema_migrations');
  return rows[0]?.v ?? 0;
}
