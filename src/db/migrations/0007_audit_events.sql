-- Audit trail (issue 14): one row per operator action, with who did it, through what, on what,
-- and the state before and after. GitLab's batched background migrations keep the same record of
-- who paused or changed a migration. Append-only: nothing in bbm updates or deletes these rows;
-- where an action writes bbm state, its row is inserted in the same transaction as the change,
-- so a change that rolled back has no event and one that committed always has one.
CREATE TABLE bbm.audit_events (
  id         bigserial   PRIMARY KEY,
  -- clock_timestamp(), not now(): two actions in one transaction (a schema migration queueing
  -- two backfills) still get their own times.
  at         timestamptz NOT NULL DEFAULT clock_timestamp(),
  -- --actor or the OS user (CLI, API), the sender's Temporal identity (signals, updates, cancel),
  -- or the database role (a schema migration).
  actor      text        NOT NULL CHECK (length(actor) BETWEEN 1 AND 200),
  via        text        NOT NULL CHECK (via IN ('cli', 'api', 'temporal', 'schema_migration')),
  action     text        NOT NULL CHECK (action IN ('create', 'pause', 'resume', 'retry', 'cancel', 'finalize',
                                                    'configure', 'batch_size', 'capacity',
                                                    'schedule_create', 'schedule_delete')),
  repository text,
  migration  text,
  -- What the action named: a migration, a repository key, '*' (every migration), 'enqueuer' or a schedule id.
  target     text        NOT NULL,
  before     jsonb,
  after      jsonb,
  detail     jsonb
);
CREATE INDEX audit_events_migration_idx ON bbm.audit_events (migration, at);
CREATE INDEX audit_events_at_idx ON bbm.audit_events (at);
