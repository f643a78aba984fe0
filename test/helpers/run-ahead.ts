import { JobStatus } from '../../src/engine/constants';
import { defineMigration } from '../../src/engine/definitions';
import { createItems, type TestDatabase } from './db';
import { waitFor } from './wait';
import { registryWith } from './work';

/**
 * A 400-row table and a migration of `repository` over it in jobs of 20 (`increment` on
 * `counter`, fixed size), whose every UPDATE takes about 200 ms (a statement trigger sleeps): a
 * worker past its first job then spends most of its time in run-aheads (src/engine/run-ahead.ts).
 */
export async function slowIncrementMigration(db: TestDatabase, repository: string): Promise<void> {
  await createItems(db.pool, 'items', 400);
  await db.pool.query(`CREATE FUNCTION slow() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(0.2); RETURN NULL; END $$;
    CREATE TRIGGER slow BEFORE UPDATE ON items FOR EACH STATEMENT EXECUTE FUNCTION slow()`);
  await defineMigration(
    { pool: db.pool, registry: registryWith() },
    { name: 'm', repository, work: 'increment', table: 'items', column: 'id', targetJobMs: 0, batchSize: 20, args: { target: 'counter' } },
  );
}

/**
 * Wait until 3 jobs have finished and a 4th job's UPDATE is at work: past a round's first job,
 * that UPDATE is a run-ahead's.
 */
export async function waitForRunAheadAtWork(db: TestDatabase): Promise<void> {
  await waitFor('3 jobs finished and a 4th at work', async () => {
    const { rows } = await db.pool.query(
      `SELECT (SELECT count(*) FROM bbm.jobs WHERE status = ${JobStatus.FINISHED})::int AS done,
              (SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' AND query LIKE 'UPDATE%items%')::int AS working`,
    );
    return rows[0].done >= 3 && rows[0].working === 1;
  });
}
