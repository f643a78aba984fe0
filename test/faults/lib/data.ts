import assert from 'node:assert/strict';
import type { Pool } from 'pg';
import { MigrationStatus, JobStatus } from '../../../src/engine/constants';

/** `name` with ids 1..rows and a `counter` the built-in `increment` work function bumps. */
export async function createCounterTable(pool: Pool, name: string, rows: number): Promise<void> {
  await pool.query(`CREATE TABLE ${name} (id bigint PRIMARY KEY, payload text, counter integer NOT NULL DEFAULT 0)`);
  await pool.query(`INSERT INTO ${name} (id, payload) SELECT i, 'p' || i FROM generate_series(1, $1::bigint) AS i`, [rows]);
  await pool.query(`ANALYZE ${name}`);
}

export interface ExactlyOnceReport {
  rows: number;
  jobs: number;
  migrations: number;
}

/**
 * The end of every fault case: every row of `table` in [minId, maxId] was incremented exactly
 * once, and bbm's bookkeeping agrees with the data: each migration finished, its jobs all
 * finished, their ranges disjoint and covering its range, rows_affected and rows_processed equal
 * to the rows changed.
 */
export async function assertExactlyOnce(
  pool: Pool,
  table: string,
  migrationNames: string[],
  expectedRows: number,
): Promise<ExactlyOnceReport> {
  const data = await pool.query(
    `SELECT count(*)::int AS total, count(*) FILTER (WHERE counter = 1)::int AS once,
            count(*) FILTER (WHERE counter = 0)::int AS never, count(*) FILTER (WHERE counter > 1)::int AS twice
       FROM ${table}`,
  );
  const d = data.rows[0];
  assert.deepEqual(d, { total: expectedRows, once: expectedRows, never: 0, twice: 0 }, `rows of ${table} not incremented exactly once`);

  const { rows: migrations } = await pool.query(
    `SELECT m.name, m.status, m.rows_processed::bigint AS rows_processed, m.min_value, m.max_value,
            count(j.*)::int AS jobs, count(j.*) FILTER (WHERE j.status = ${JobStatus.FINISHED})::int AS finished,
            coalesce(sum(j.rows_affected), 0)::bigint AS rows_affected,
            coalesce(sum(j.max_value - j.min_value + 1), 0)::bigint AS covered
       FROM bbm.migrations m LEFT JOIN bbm.jobs j ON j.migration_id = m.id
      WHERE m.name = ANY($1) GROUP BY m.id ORDER BY m.id`,
    [migrationNames],
  );
  assert.equal(migrations.length, migrationNames.length, 'a migration is missing');
  let jobs = 0;
  let rowsProcessed = 0;
  for (const m of migrations) {
    assert.equal(Number(m.status), MigrationStatus.FINISHED, `migration ${m.name} is not finished`);
    assert.equal(m.finished, m.jobs, `migration ${m.name} has unfinished jobs`);
    assert.equal(Number(m.rows_affected), Number(m.rows_processed), `migration ${m.name}: jobs' rows_affected differs from rows_processed`);
    assert.equal(
      Number(m.covered),
      Number(m.max_value) - Number(m.min_value) + 1,
      `migration ${m.name}: job ranges do not cover its range exactly`,
    );
    jobs += m.jobs;
    rowsProcessed += Number(m.rows_processed);
  }
  assert.equal(rowsProcessed, expectedRows, 'rows_processed of the migrations differs from the rows changed');
  const overlaps = await pool.query(
    `SELECT count(*)::int AS n FROM bbm.jobs a JOIN bbm.jobs b ON a.migration_id = b.migration_id AND a.id < b.id
        AND a.min_value <= b.max_value AND b.min_value <= a.max_value
      WHERE a.migration_id IN (SELECT id FROM bbm.migrations WHERE name = ANY($1))`,
    [migrationNames],
  );
  assert.equal(overlaps.rows[0].n, 0, 'two jobs cover the same ids');
  return { rows: expectedRows, jobs, migrations: migrations.length };
}

/** Rows processed so far by the named migrations (for waiting on progress). */
export async function rowsProcessed(pool: Pool, names: string[]): Promise<number> {
  const { rows } = await pool.query('SELECT coalesce(sum(rows_processed), 0)::bigint AS n FROM bbm.migrations WHERE name = ANY($1)', [
    names,
  ]);
  return Number(rows[0].n);
}

/** Everything a refused input must leave untouched: bbm's tables and the data. */
export async function snapshot(pool: Pool, table: string): Promise<unknown> {
  const migrations = await pool.query(
    `SELECT id, name, repository, status, batch_size, sub_batch_size, sub_batch_pause_ms, rows_processed, min_value, max_value, work_args,
            failure_error_code FROM bbm.migrations ORDER BY id`,
  );
  const jobs = await pool.query(
    'SELECT id, migration_id, status, attempts, min_value, max_value, cursor_id, sub_batches FROM bbm.jobs ORDER BY id',
  );
  const leases = await pool.query('SELECT repository, holder, token FROM bbm.leases ORDER BY repository');
  const data = await pool.query(
    `SELECT count(*)::int AS n, coalesce(sum(counter), 0)::bigint AS counters, md5(string_agg(id || ':' || counter || ':' || payload, ',' ORDER BY id)) AS digest FROM ${table}`,
  );
  const tables = await pool.query(
    "SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2",
  );
  return { migrations: migrations.rows, jobs: jobs.rows, leases: leases.rows, data: data.rows[0], tables: tables.rows };
}

/** Poll `check` every `everyMs` until it returns true; fail after `timeoutMs` naming `what`. */
export async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 120_000, everyMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
