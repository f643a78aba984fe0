-- Adaptive batch size (issue 11): after every job the migration's batch size moves toward the
-- size whose job takes target_job_ms (src/engine/batch-tuner.ts). batch_size is the tuned size
-- the next job gets; the tuner's memory is stored beside it and both change in the transaction
-- that records the job, so a restart or a continue-as-new keeps them, consistent with the jobs.
ALTER TABLE bbm.migrations
  -- 0: tuning off, batch_size stays as set. Migrations defined before this file keep their fixed
  -- size; new ones get 500 ms (pt-online-schema-change's --chunk-time) unless told otherwise.
  ADD COLUMN target_job_ms  integer NOT NULL DEFAULT 0 CHECK (target_job_ms BETWEEN 0 AND 3600000),
  ADD COLUMN min_batch_size integer NOT NULL DEFAULT 1 CHECK (min_batch_size BETWEEN 1 AND 1000000),
  ADD COLUMN max_batch_size integer NOT NULL DEFAULT 1000000 CHECK (max_batch_size BETWEEN 1 AND 1000000),
  -- {"samples":[{"rows":n,"ms":x},...],"afterFailure":bool}: the last 20 successful jobs, and
  -- whether the last recorded job failed (the size never grows right after a failure).
  ADD COLUMN tuner_state    jsonb NOT NULL DEFAULT '{"samples":[],"afterFailure":false}',
  ADD CONSTRAINT migrations_batch_size_bounds CHECK (min_batch_size <= max_batch_size);

-- Pause between sub-batches (issue 11): `bbm migrations pause` of a repository whose workflow
-- runs signals it, then sets this flag. A job in sub-batches reads it under the migration row lock
-- at its next sub-batch and stops there, cursor kept, so the workflow can apply the pause at once
-- instead of after the whole job. The status itself is still written by the workflow; any pause
-- or resume transition clears the flag.
ALTER TABLE bbm.migrations ADD COLUMN pause_requested boolean NOT NULL DEFAULT false;
