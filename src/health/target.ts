import { MigrationStatus } from '../engine/constants';
import { parseTableName, type QualifiedName } from '../engine/identifiers';
import { BbmError, ErrorCode, invalidInput } from '../errors';
import { listMigrations, migrationByName } from '../store/migrations';
import type { Queryable } from '../store/types';

/** Which table the table-scoped indicators look at: at most one of the three. */
export interface HealthTarget {
  /** The repository's migration in progress (running, else the next active or paused one, by id; when all have finished, the last one). */
  repository?: string;
  /** A migration's table, by migration name. */
  migration?: string;
  /** A table directly: `table` or `schema.table`. */
  table?: string;
}

/**
 * Resolve a health target to a validated table, or null for a cluster-only check (no target).
 * @throws BbmError INVALID_INPUT (more than one target, or a non-string), INVALID_IDENTIFIER (table name),
 *   MIGRATION_NOT_FOUND, REPOSITORY_NOT_FOUND (no migration has that repository key).
 */
export async function resolveHealthTable(db: Queryable, target: HealthTarget): Promise<QualifiedName | null> {
  const given = (['repository', 'migration', 'table'] as const).filter((k) => target[k] !== undefined && target[k] !== null);
  if (given.length > 1)
    throw invalidInput(`Give at most one of repository, migration and table for a health check; got ${given.join(', ')}.`);
  for (const k of given)
    if (typeof target[k] !== 'string' || target[k] === '') throw invalidInput(`Health check ${k} must be a non-empty string.`);
  if (target.table !== undefined) return parseTableName(target.table);
  if (target.migration !== undefined) {
    const migration = await migrationByName(db, target.migration);
    if (!migration)
      throw new BbmError(ErrorCode.MIGRATION_NOT_FOUND, `No migration named "${target.migration}": see \`bbm migrations list\`.`, {
        migration: target.migration,
      });
    return parseTableName(migration.tableName);
  }
  if (target.repository !== undefined) {
    const migrations = await listMigrations(db, { repository: target.repository });
    if (migrations.length === 0) {
      throw new BbmError(
        ErrorCode.REPOSITORY_NOT_FOUND,
        `No migration belongs to repository "${target.repository}": \`bbm migrations list\` shows each migration's repository.`,
        {
          repository: target.repository,
        },
      );
    }
    // A repository whose migrations have all finished keeps its last one's table: the check then
    // answers for the table it asked about, not silently cluster-wide (found by a fresh tester).
    const current =
      migrations.find((m) => m.status === MigrationStatus.RUNNING) ??
      migrations.find((m) => m.status === MigrationStatus.ACTIVE) ??
      migrations.find((m) => m.status !== MigrationStatus.FINISHED) ??
      migrations[migrations.length - 1];
    return current ? parseTableName(current.tableName) : null;
  }
  return null;
}
