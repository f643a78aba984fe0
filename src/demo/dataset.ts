import type { Pool } from 'pg';

/**
 * The demo's data: `demo.images`, container image manifests spread over repositories, with an
 * empty `digest` column for the migrations to fill. Each repository owns a contiguous id range,
 * so one serial migration per repository covers exactly its rows.
 */
export const DEMO_SCHEMA = 'demo';
export const DEMO_TABLE = 'demo.images';

export interface RepositoryRange {
  /** 1-based repository number (repository_id in the table). */
  index: number;
  minId: number;
  maxId: number;
  rows: number;
}

export interface Dataset {
  created: boolean;
  rows: number;
  ranges: RepositoryRange[];
  seconds: number;
}

/** Create and fill the table in one transaction (all or nothing), or describe the one already there. */
export async function ensureDataset(pool: Pool, rows: number, repositories: number): Promise<Dataset> {
  const started = Date.now();
  const exists = await pool.query("SELECT to_regclass('demo.images') IS NOT NULL AS exists");
  let created = false;
  if (!exists.rows[0].exists) {
    const perRepository = Math.ceil(rows / repositories);
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${DEMO_SCHEMA}`);
      await client.query(
        `CREATE TABLE ${DEMO_TABLE} (id bigint NOT NULL, repository_id integer NOT NULL, manifest text NOT NULL, digest text)`,
      );
      // One statement generates everything; the primary key is built afterwards, which is faster.
      await client.query(
        `INSERT INTO ${DEMO_TABLE} (id, repository_id, manifest)
         SELECT g, (g - 1) / $2::bigint + 1,
                format('{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"size":%s},"layers":%s,"tag":"v%s.%s"}',
                       1000 + g % 9000, g % 7 + 1, g % 13, g)
           FROM generate_series(1, $1::bigint) AS g`,
        [rows, perRepository],
      );
      await client.query(`ALTER TABLE ${DEMO_TABLE} ADD PRIMARY KEY (id)`);
      await client.query('COMMIT');
      created = true;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
    await pool.query(`ANALYZE ${DEMO_TABLE}`);
  }
  const { rows: found } = await pool.query(
    `SELECT repository_id AS index, min(id) AS min_id, max(id) AS max_id, count(*) AS rows FROM ${DEMO_TABLE} GROUP BY repository_id ORDER BY repository_id`,
  );
  const ranges = found.map((r) => ({ index: Number(r.index), minId: Number(r.min_id), maxId: Number(r.max_id), rows: Number(r.rows) }));
  return { created, rows: ranges.reduce((n, r) => n + r.rows, 0), ranges, seconds: (Date.now() - started) / 1000 };
}

/** Rows whose digest is not yet md5(manifest): 0 once the demo is done. */
export async function rowsLeft(pool: Pool): Promise<number> {
  const { rows } = await pool.query(`SELECT count(*) AS n FROM ${DEMO_TABLE} WHERE digest IS DISTINCT FROM md5(manifest)`);
  return Number(rows[0].n);
}
