import type { Pool } from 'pg';
import { defineMigration } from '../engine/definitions';
import type { WorkRegistry } from '../engine/registry';
import { migrationStatusName } from '../engine/constants';
import { DEMO_TABLE, type RepositoryRange } from './dataset';

/** Repository keys and migration names the demo uses: `demo/repo-07`, `demo-digest-repo-07`. */
export const DEMO_PREFIX = 'demo/';
const NAME_PREFIX = 'demo-digest-repo-';

function pad(index: number, count: number): string {
  return String(index).padStart(Math.max(2, String(count).length), '0');
}

export function demoRepository(index: number, count: number): string {
  return `${DEMO_PREFIX}repo-${pad(index, count)}`;
}

export function demoMigrationName(index: number, count: number): string {
  return `${NAME_PREFIX}${pad(index, count)}`;
}

/** Around sixteen jobs per repository: enough to watch progress move, few enough to finish in a minute or so. */
export function demoBatchSize(ranges: RepositoryRange[]): number {
  const largest = Math.max(1, ...ranges.map((r) => r.rows));
  return Math.min(10_000, Math.max(100, Math.ceil(largest / 16)));
}

/** Define the migrations that are missing; existing ones are left as they are (a second run resumes). */
export async function ensureDemoMigrations(
  pool: Pool,
  registry: WorkRegistry,
  ranges: RepositoryRange[],
): Promise<{ created: number; existing: number }> {
  const existing = new Set(
    (await pool.query('SELECT name FROM bbm.migrations WHERE starts_with(name, $1)', [NAME_PREFIX])).rows.map((r) => String(r.name)),
  );
  const batchSize = demoBatchSize(ranges);
  let created = 0;
  for (const range of ranges) {
    const name = demoMigrationName(range.index, ranges.length);
    if (existing.has(name)) continue;
    await defineMigration(
      { pool, registry },
      {
        name,
        repository: demoRepository(range.index, ranges.length),
        work: 'copy_column',
        table: DEMO_TABLE,
        column: 'id',
        minValue: range.minId,
        maxValue: range.maxId,
        batchSize,
        args: { from: 'manifest', to: 'digest', transform: 'md5' },
      },
    );
    created += 1;
  }
  return { created, existing: existing.size };
}

export interface DemoMigrationState {
  name: string;
  repository: string;
  status: string;
  rows: number;
  total: number;
}

export async function demoMigrationStates(pool: Pool): Promise<DemoMigrationState[]> {
  const { rows } = await pool.query(
    'SELECT name, repository, status, rows_processed, min_value, max_value FROM bbm.migrations WHERE starts_with(name, $1) ORDER BY name',
    [NAME_PREFIX],
  );
  return rows.map((r) => ({
    name: String(r.name),
    repository: String(r.repository),
    status: migrationStatusName(Number(r.status)),
    rows: Number(r.rows_processed),
    total: Number(r.max_value) - Number(r.min_value) + 1,
  }));
}
