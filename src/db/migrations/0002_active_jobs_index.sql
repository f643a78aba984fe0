-- find-job looks for a job left active by an interrupted run before every new range; without
-- this index that lookup scans all of a migration's jobs, which grows with every batch.
CREATE INDEX jobs_first_active_idx ON bbm.jobs (migration_id, id) WHERE status = 1;
