-- Runs once, when the postgres container initialises an empty data volume
-- (docker-entrypoint-initdb.d is skipped on every later start).
--
-- One server holds both the application database that bbm migrates and
-- Temporal's persistence, so the stack needs a single Postgres to operate.
-- `SELECT ... \gexec` instead of plain CREATE DATABASE: POSTGRES_DB already
-- creates `bbm`, and the entrypoint runs this file with ON_ERROR_STOP, so a
-- plain CREATE would abort initialisation with "already exists".

-- The application database (bbm's own bookkeeping tables live here too).
SELECT 'CREATE DATABASE bbm'
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'bbm')\gexec

-- Temporal's history/persistence store and its SQL visibility store. The
-- temporal-schema service would create them too (its create-database step is
-- idempotent) and installs or upgrades their schemas.
SELECT 'CREATE DATABASE temporal'
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'temporal')\gexec

SELECT 'CREATE DATABASE temporal_visibility'
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'temporal_visibility')\gexec
