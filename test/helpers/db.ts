import { randomBytes } from 'node:crypto';
import { after } from 'node:test';
import { Client, type Pool } from 'pg';
import { createPool } from '../../src/db/pool';
import { testEnv } from './env';

const beforePoolEnd: (() => Promise<void>)[] = [];

/** Run `stop` before the test databases' pools are closed (used by test workers). */
export function stopBeforePoolsEnd(stop: () => Promise<void>): void {
  beforePoolEnd.push(stop);
}

export interface TestDatabase {
  url: string;
  pool: Pool;
  name: string;
}

/**
 * A fresh database at the latest bbm schema, copied from the run's template, with a pool that is
 * closed after the file's tests. Databases are left in place (the run's server is thrown away),
 * so a failing test's data can still be inspected while the run is alive.
 */
export async function createTestDatabase(label = 'db'): Promise<TestDatabase> {
  const name = `t_${label.replace(/\W/g, '_').slice(0, 30)}_${randomBytes(4).toString('hex')}`;
  const adminUrl = testEnv.adminUrl;
  const admin = new Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name} TEMPLATE ${testEnv.templateDb}`);
  } finally {
    await admin.end();
  }
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  const url = u.toString();
  const pool = createPool({ url, max: 30 });
  // node:test runs after-hooks in registration order, and this one is registered before any
  // worker that uses the pool: stop those first, so no activity meets an ended pool.
  after(async () => {
    for (const stop of beforePoolEnd.splice(0)) await stop();
    await pool.end();
  });
  return { url, pool, name };
}

/** A table `name` with ids 1..n (or the given ids) and a few columns tests like to change. */
export async function createItems(pool: Pool, name: string, ids: number[] | number): Promise<void> {
  const list = typeof ids === 'number' ? Array.from({ length: ids }, (_, i) => i + 1) : ids;
  await pool.query(`CREATE TABLE ${name} (id bigint PRIMARY KEY, payload text, copy text, counter integer NOT NULL DEFAULT 0)`);
  await pool.query(`INSERT INTO ${name} (id, payload) SELECT i, 'p' || i FROM unnest($1::bigint[]) AS i`, [list]);
  await pool.query(`ANALYZE ${name}`);
}

/** Lowest and highest `counter` and the row count of `table`: every row at 1 means each was applied exactly once. */
export async function counters(pool: Pool, table = 'items'): Promise<{ lo: number; hi: number; n: number }> {
  const { rows } = await pool.query(`SELECT min(counter)::int AS lo, max(counter)::int AS hi, count(*)::int AS n FROM ${table}`);
  return rows[0];
}
