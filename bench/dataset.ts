import type { Pool } from 'pg';

/**
 * The benchmark table: `rows` rows of (id bigint primary key, repo_id int, payload text,
 * digest text NULL), made by generate_series so every run of the benchmark sees the same data.
 */
export const TABLE = 'bench_items';

export async function createDataset(pool: Pool, rows: number): Promise<void> {
  await pool.query(`DROP TABLE IF EXISTS ${TABLE}`);
  await pool.query(`CREATE TABLE ${TABLE} (id bigint NOT NULL, repo_id integer NOT NULL, payload text NOT NULL, digest text)`);
  await pool.query(
    `INSERT INTO ${TABLE} (id, repo_id, payload) SELECT i, (i % 1000)::int, 'payload-' || i || '-' || md5(i::text) FROM generate_series(1, $1::bigint) AS i`,
    [rows],
  );
  await pool.query(`ALTER TABLE ${TABLE} ADD PRIMARY KEY (id)`);
  // No autovacuum of this table during any contender: one starting on the freshly rewritten
  // table competed with whichever contender ran then, and held bbm by its health throttle
  // (vacuum_on_table) while the plain loop had none. resetDataset vacuums between contenders instead.
  await pool.query(`ALTER TABLE ${TABLE} SET (autovacuum_enabled = off, toast.autovacuum_enabled = off)`);
  await pool.query(`VACUUM ANALYZE ${TABLE}`);
}

/**
 * Put the table back where every contender starts: digest NULL, and (VACUUM FULL) the same
 * compact physical layout as after generation, so no contender inherits another's free space
 * or dead tuples. A checkpoint last, so none pays for another's dirty pages.
 */
export async function resetDataset(pool: Pool): Promise<void> {
  await pool.query(`UPDATE ${TABLE} SET digest = NULL WHERE digest IS NOT NULL`);
  await pool.query(`VACUUM FULL ${TABLE}`);
  // VACUUM FULL leaves the visibility map empty, and with autovacuum off nothing would set it:
  // every index-only scan (bbm's lookup of a job's last id reads batchSize index entries) would
  // then fetch each row from the heap, which a table in service, vacuumed now and then, does not.
  await pool.query(`VACUUM ANALYZE ${TABLE}`);
  await pool.query('CHECKPOINT').catch(() => undefined); // needs superuser; only a fairness nicety
}

/** Rows whose digest is not md5(payload): 0 after a correct backfill. */
export async function wrongDigests(pool: Pool): Promise<number> {
  const { rows } = await pool.query(`SELECT count(*)::bigint AS n FROM ${TABLE} WHERE digest IS DISTINCT FROM md5(payload)`);
  return Number(rows[0].n);
}

/** A small table of `rows` ids for no-op and tiny migrations. */
export async function createIdTable(pool: Pool, name: string, rows: number): Promise<void> {
  await pool.query(`DROP TABLE IF EXISTS ${name}`);
  await pool.query(`CREATE TABLE ${name} (id bigint PRIMARY KEY)`);
  await pool.query(`INSERT INTO ${name} SELECT generate_series(1, $1::bigint)`, [rows]);
  await pool.query(`ANALYZE ${name}`);
}

export async function dropBenchTables(pool: Pool, names: string[]): Promise<void> {
  for (const name of names) await pool.query(`DROP TABLE IF EXISTS ${name}`);
}
