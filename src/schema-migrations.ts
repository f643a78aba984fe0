import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import { loadWorkRegistry } from './cli/registry';
import { resolveConfig } from './config';
import { checkConnection, createPool } from './db/pool';
import { defineMigration, type MigrationDefinition } from './engine/definitions';
import type { WorkRegistry } from './engine/registry';
import type { MigrationProgress } from './engine/types';
import { BbmError, ErrorCode, isBbmError } from './errors';
import { ensureMigrationFinished, type EnsureFinishedOptions } from './repository/finalize';
import type { Queryable } from './store/types';
import { migrationInfo, type MigrationInfo } from './api/migration-info';
import { connectClient } from './temporal/connection';

/**
 * bbm from inside a schema migration (node-pg-migrate, knex, Prisma, plain SQL runners): queue a
 * background migration in the schema migration's own transaction, and gate a later schema
 * migration on it being finished (GitLab's queue_batched_background_migration and
 * ensure_batched_background_migration_is_finished). Recipe: docs/recipes/node-pg-migrate/.
 */

/** Schema migrations act as their database role (`current_user`, recorded when the actor is null). */
const SCHEMA_MIGRATION = { actor: null, via: 'schema_migration' } as const;

/**
 * What the helpers need of the schema migration's connection: `query(text, values)` resolving to
 * `{ rows }` with `$1`-style parameters, as node-pg-migrate's `pgm.db`, a pg `Client`/`PoolClient`
 * or a `Pool` have.
 */
export interface SqlRunner {
  query(text: string, values?: unknown[]): Promise<{ rows: unknown[] }>;
}

export interface QueueOptions {
  /** Work functions to validate `def.work` against. @default the built-ins plus `workModule`'s */
  registry?: WorkRegistry;
  /** Module exporting your work functions, as `bbm migrations create --work-module` takes it. */
  workModule?: string;
}

/**
 * Define the migration `def` through `db`, with every check `bbm migrations create` makes (the
 * same codes: INVALID_TABLE, MIGRATION_EXISTS, ...). Run it inside the schema migration's
 * transaction so the definition commits with the column it fills, or not at all. The table and
 * column must exist in that transaction (add the column first). It is picked up once committed:
 * by the enqueuer, `bbm repositories start`, or a later `ensureFinished(name, { run: true })`.
 * The `create` event of the audit trail is written in the same transaction, with the database
 * role as the actor (via `schema_migration`). Returns the migration as JSON-safe MigrationInfo
 * (ids and bounds as decimal strings), so a schema migration can log it with JSON.stringify.
 */
export async function queueMigration(db: SqlRunner, def: MigrationDefinition, options: QueueOptions = {}): Promise<MigrationInfo> {
  const registry = options.registry ?? loadWorkRegistry(options.workModule);
  return migrationInfo(await defineMigration({ pool: db as unknown as Queryable, registry }, def, SCHEMA_MIGRATION));
}

export interface SchemaEnsureFinishedOptions extends EnsureFinishedOptions {
  /**
   * Settings for `run` (DATABASE_URL, TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE and Temporal's other
   * variables, read by its envconfig, BBM_TASK_QUEUE, ... as for the CLI; see src/config.ts): it
   * opens its own pool and Temporal client and closes them after. @default process.env
   */
  env?: NodeJS.ProcessEnv;
}

/**
 * The finalize gate for a schema migration. Without `run`: reads through `db` (so in the schema
 * migration's transaction) and throws MIGRATION_NOT_FINISHED while the migration is unfinished,
 * MIGRATION_FAILED when it failed. With `run: true`: runs what is left to the end first, through
 * the repository workflow (a worker must be running), reading progress on its own pool so a
 * long wait never sees a stale snapshot. Errors and options: ensureMigrationFinished in
 * src/repository/finalize.ts. Best called before the schema change that depends on it takes locks.
 */
export async function ensureFinished(db: SqlRunner, name: string, options: SchemaEnsureFinishedOptions = {}): Promise<MigrationProgress> {
  // The check first, through `db`: a finished or failed migration needs no pool nor Temporal.
  const noTemporal = (): Promise<Client> => Promise.reject(new Error('a check without run never reaches Temporal'));
  const queryable = db as unknown as Queryable;
  try {
    return await ensureMigrationFinished(
      { db: queryable, pool: queryable as Pool, client: noTemporal, taskQueue: '', audit: SCHEMA_MIGRATION },
      name,
      {},
    );
  } catch (err) {
    if (!options.run || !isBbmError(err, ErrorCode.MIGRATION_NOT_FINISHED)) throw err;
  }
  const config = resolveConfig(options.env ?? process.env);
  if (!config.databaseUrl) {
    throw new BbmError(ErrorCode.CONFIG_INVALID, 'ensureFinished with run: true needs DATABASE_URL (bbm opens its own pool).', {
      setting: 'DATABASE_URL',
    });
  }
  const pool = createPool({ url: config.databaseUrl, max: 2, applicationName: 'bbm-finalize' });
  let client: Client | undefined;
  try {
    await checkConnection(pool, config.databaseUrl);
    const opened = await connectClient(config);
    client = opened;
    return await ensureMigrationFinished(
      { pool, client: () => Promise.resolve(opened), taskQueue: config.taskQueue, audit: SCHEMA_MIGRATION },
      name,
      options,
    );
  } finally {
    await client?.connection.close();
    await pool.end();
  }
}
