-- The claim of a run-ahead (src/engine/execute-job.ts) in the round trip of its COMMIT. A
-- run-ahead's statement (b) leaves what the claim must check in the transaction-local setting
-- bbm.claim (src/store/hot-path.ts finishJob): a JSON object with the fence (repository, holder,
-- token), the lease time to extend by (leaseTtlMs, ms, or null), and, when (b) found the next job
-- (ahead true), its migration (migrationId) and the migrations passed over in this run (exclude).
-- The claim then sends `SELECT bbm.claim_run_ahead(); COMMIT` as one simple query: Postgres runs
-- them in order and skips the COMMIT when the function raises, which rolls the transaction back.
--
-- The checks are those of the separate fence statement they replace: the fence must still hold
-- (the UPDATE locks the lease row until COMMIT, so no takeover commits before this transaction,
-- and extends the lease as find would), else SQLSTATE BBMC1 (the lease was lost); and, for a job
-- found ahead, no lower-id migration of the repository may have become running meanwhile (the
-- condition lowerRunningMigration in src/store/hot-path.ts; 4 is MigrationStatus.RUNNING), else
-- SQLSTATE BBMC2 (the caller runs the job from scratch). No setting: SQLSTATE BBMC0.
CREATE FUNCTION bbm.claim_run_ahead() RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  c jsonb := nullif(current_setting('bbm.claim', true), '')::jsonb;
BEGIN
  IF c IS NULL THEN
    RAISE EXCEPTION 'no run-ahead to claim in this transaction' USING ERRCODE = 'BBMC0';
  END IF;
  UPDATE bbm.leases
     SET expires_at = CASE WHEN c->>'leaseTtlMs' IS NULL THEN expires_at
                           ELSE greatest(expires_at, now() + make_interval(secs => (c->>'leaseTtlMs')::float8 / 1000)) END
   WHERE repository = c->>'repository' AND holder = c->>'holder' AND token = (c->>'token')::bigint;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'the lease of repository % is no longer held by %', c->>'repository', c->>'holder' USING ERRCODE = 'BBMC1';
  END IF;
  IF (c->>'ahead')::boolean AND EXISTS (
       SELECT 1 FROM bbm.migrations
        WHERE repository = c->>'repository' AND status = 4 AND id < (c->>'migrationId')::bigint
          AND NOT (id = ANY (ARRAY(SELECT jsonb_array_elements_text(c->'exclude'))::bigint[]))) THEN
    RAISE EXCEPTION 'a lower-id migration of repository % became running', c->>'repository' USING ERRCODE = 'BBMC2';
  END IF;
END
$$;
