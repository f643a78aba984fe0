import assert from 'node:assert/strict';
import type { Pool } from 'pg';

/**
 * Proof of what each sub-batch did, written by the database itself: a statement-level trigger on
 * `table` logs every UPDATE (its first and last id, its rows and its transaction id) into
 * `sub_batch_log`, in the updating transaction. A sub-batch that rolls back leaves no row; one
 * that commits leaves exactly one per UPDATE the work ran.
 */
export async function installSubBatchLog(pool: Pool, table: string): Promise<void> {
  await pool.query(`
    CREATE TABLE sub_batch_log (n bigserial PRIMARY KEY, first_id bigint, last_id bigint, rows integer,
      xid bigint NOT NULL DEFAULT txid_current(), at timestamptz NOT NULL DEFAULT clock_timestamp());
    CREATE FUNCTION log_sub_batch() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO sub_batch_log (first_id, last_id, rows) SELECT min(id), max(id), count(*) FROM new_rows HAVING count(*) > 0;
      RETURN NULL;
    END $$;
    CREATE TRIGGER ${table}_sub_batch_log AFTER UPDATE ON ${table} REFERENCING NEW TABLE AS new_rows
      FOR EACH STATEMENT EXECUTE FUNCTION log_sub_batch();`);
}

export interface LoggedSubBatch {
  first: number;
  last: number;
  rows: number;
  xid: string;
}

/** The committed sub-batches, in commit order. */
export async function subBatchLog(pool: Pool): Promise<LoggedSubBatch[]> {
  const { rows } = await pool.query(
    'SELECT first_id::int AS first, last_id::int AS last, rows, xid::text AS xid FROM sub_batch_log ORDER BY n',
  );
  return rows;
}

/** No two logged sub-batches share an id or a transaction: none ran twice, each committed on its own. */
export function assertNoSubBatchTwice(log: LoggedSubBatch[]): void {
  const sorted = [...log].sort((a, b) => a.first - b.first);
  for (let i = 1; i < sorted.length; i++) {
    const [a, b] = [sorted[i - 1], sorted[i]];
    assert.ok(a && b && a.last < b.first, `sub-batches ${JSON.stringify(a)} and ${JSON.stringify(b)} overlap: one ran twice`);
  }
  assert.equal(new Set(log.map((s) => s.xid)).size, log.length, 'two sub-batches committed in one transaction');
}
