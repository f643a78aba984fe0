-- bbm's own state. Status and error codes mirror the anchor system (see src/engine/constants.ts).

CREATE TABLE bbm.migrations (
  id                 bigserial PRIMARY KEY,
  name               text        NOT NULL UNIQUE,
  -- The unit of exclusivity: one workflow, one lease. Defaults to the target table.
  repository         text        NOT NULL,
  job_name           text        NOT NULL,  -- registered work function
  table_name         text        NOT NULL,  -- schema-qualified, validated at definition
  column_name        text        NOT NULL,
  work_args          jsonb       NOT NULL DEFAULT '{}'::jsonb,
  min_value          bigint      NOT NULL DEFAULT 1,
  max_value          bigint,                -- NULL for the NULL-rows strategy
  batch_size         integer     NOT NULL CHECK (batch_size > 0),
  -- Kept as free text on purpose: a value this version does not know must fail the migration
  -- with INVALID_BATCHING_STRATEGY instead of being rejected by a constraint on read.
  batching_strategy  text        NOT NULL,
  status             smallint    NOT NULL DEFAULT 1,
  failure_error_code smallint,
  total_tuple_count  bigint,
  rows_processed     bigint      NOT NULL DEFAULT 0,
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now(),
  started_at         timestamptz,
  finished_at        timestamptz
);
CREATE INDEX migrations_status_idx ON bbm.migrations (status);
CREATE INDEX migrations_repository_idx ON bbm.migrations (repository, status);

CREATE TABLE bbm.jobs (
  id                 bigserial PRIMARY KEY,
  migration_id       bigint      NOT NULL REFERENCES bbm.migrations (id) ON DELETE CASCADE,
  min_value          bigint,
  max_value          bigint,
  status             smallint    NOT NULL DEFAULT 1,
  attempts           integer     NOT NULL DEFAULT 0,
  -- attempts at the last retry/re-run: the limit applies to attempts - retry_base, so a retried
  -- job gets a fresh budget while the stored total is kept.
  retry_base         integer     NOT NULL DEFAULT 0,
  failure_error_code smallint,
  last_error         text,
  rows_affected      bigint      NOT NULL DEFAULT 0,
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now(),
  started_at         timestamptz,
  finished_at        timestamptz,
  duration_ms        double precision
);
CREATE INDEX jobs_migration_idx ON bbm.jobs (migration_id);
CREATE INDEX jobs_migration_max_idx ON bbm.jobs (migration_id, max_value);
CREATE INDEX jobs_migration_last_idx ON bbm.jobs (migration_id, id DESC);
CREATE INDEX jobs_first_failed_idx ON bbm.jobs (migration_id, id) WHERE status = 3;

-- One row per repository ever locked. Rows are never deleted, so fencing tokens only grow:
-- a zombie holding an old token can never match a later lease.
CREATE TABLE bbm.leases (
  repository  text        PRIMARY KEY,
  holder      text        NOT NULL,
  token       bigint      NOT NULL,
  acquired_at timestamptz NOT NULL DEFAULT now(),
  expires_at  timestamptz NOT NULL
);
