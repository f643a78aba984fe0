-- Why a migration is paused (found by a fresh tester): a cancelled repository workflow pauses the
-- migrations that could still run, so the enqueuer does not start the repository again at once.
-- 'cancel' marks those pauses, so resuming the repository after a cancel undoes only them and
-- leaves the migrations an operator had paused on purpose before the cancel paused. NULL: paused
-- by an operator (or before this column existed), or not paused. Any resume clears it.
ALTER TABLE bbm.migrations
  ADD COLUMN pause_reason text CHECK (pause_reason IN ('cancel'));
