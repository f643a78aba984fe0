-- Progress used to count every job of a migration on every job (quadratic over a migration's
-- life). These counters move in the same transaction as the job they count.
ALTER TABLE bbm.migrations
  ADD COLUMN jobs_finished bigint NOT NULL DEFAULT 0,
  ADD COLUMN covered_ids   bigint NOT NULL DEFAULT 0;

UPDATE bbm.migrations m
   SET jobs_finished = j.n, covered_ids = j.covered
  FROM (SELECT migration_id, count(*) AS n, coalesce(sum(max_value - min_value + 1), 0) AS covered
          FROM bbm.jobs WHERE status = 2 GROUP BY migration_id) j
 WHERE j.migration_id = m.id;
