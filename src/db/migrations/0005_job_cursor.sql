-- Sub-batches (issue 11): a job's range can be applied in sub-batches that each commit, so row
-- locks are held for one sub-batch only. Exactly-once then rests on the job's cursor: every
-- sub-batch commits its work together with the cursor, so a retry starts after the last
-- committed sub-batch and never applies one twice.
ALTER TABLE bbm.migrations
  -- NULL: no sub-batches, the whole job is one transaction (the behaviour before this file).
  ADD COLUMN sub_batch_size     integer CHECK (sub_batch_size > 0),
  -- Sleep between two sub-batches of a job; 100 ms is GitLab's pause_ms default.
  ADD COLUMN sub_batch_pause_ms integer NOT NULL DEFAULT 100 CHECK (sub_batch_pause_ms >= 0);

ALTER TABLE bbm.jobs
  -- Serial strategy: the last id of the job's range whose sub-batch has committed; NULL before
  -- the first. (NULL strategy: the job's rows_affected is its progress; this stays NULL.)
  ADD COLUMN cursor_id   bigint,
  -- Sub-batches committed, over all attempts (0 for a job run as one transaction).
  ADD COLUMN sub_batches integer NOT NULL DEFAULT 0;
