import type { Client, WorkflowHandle } from '@temporalio/client';
import type { Pool } from 'pg';
import { BUILTIN_WORK } from '../../../src/engine/builtin-work';
import { MigrationStatus } from '../../../src/engine/constants';
import { defineMigration } from '../../../src/engine/definitions';
import { WorkRegistry } from '../../../src/engine/registry';
import type { Knobs } from '../../../src/knobs';
import { repositoryWorkflowId } from '../../../src/contract/ids';
import { repositoryMigration } from '../../../workflows/repository';
import { createTestDatabase, type TestDatabase } from '../../helpers/db';
import { uniqueTaskQueue } from '../../helpers/temporal';
import { createCounterTable, waitFor } from './data';

export interface ClusterWorkload {
  db: TestDatabase;
  taskQueue: string;
  /** Migration names, one per repository. */
  names: string[];
  repositories: string[];
  rows: number;
}

/**
 * A test database with `items` (ids 1..repositories*rowsPerRepository, counter 0) and one
 * `increment` migration per repository over its own slice of the ids.
 */
export async function clusterWorkload(
  label: string,
  options: { repositories: number; rowsPerRepository: number; batchSize: number },
): Promise<ClusterWorkload> {
  const db = await createTestDatabase(label);
  const rows = options.repositories * options.rowsPerRepository;
  await createCounterTable(db.pool, 'items', rows);
  const registry = new WorkRegistry([...BUILTIN_WORK]);
  const names: string[] = [];
  const repositories: string[] = [];
  for (let i = 0; i < options.repositories; i++) {
    const minValue = i * options.rowsPerRepository + 1;
    const name = `${label}-m${i}`;
    const repository = `${label}/r${i}`;
    names.push(name);
    repositories.push(repository);
    await defineMigration(
      { pool: db.pool, registry },
      {
        name,
        repository,
        work: 'increment',
        table: 'items',
        column: 'id',
        targetJobMs: 0,
        batchSize: options.batchSize,
        minValue,
        maxValue: minValue + options.rowsPerRepository - 1,
        args: { target: 'counter' },
      },
    );
  }
  return { db, taskQueue: uniqueTaskQueue(label), names, repositories, rows };
}

/** Start every repository workflow of `work`; odd-numbered ones run their jobs as regular activities, even ones as local activities. */
export async function startRepositories(
  client: Client,
  work: ClusterWorkload,
  knobs: Partial<Knobs>,
): Promise<WorkflowHandle<typeof repositoryMigration>[]> {
  return Promise.all(
    work.repositories.map((repository, i) =>
      client.workflow.start(repositoryMigration, {
        taskQueue: work.taskQueue,
        workflowId: repositoryWorkflowId(repository),
        args: [{ repository, knobs: { ...knobs, localActivities: i % 2 === 0 } }],
      }),
    ),
  );
}

/**
 * Wait in Postgres (not through Temporal, whose nodes may be down meanwhile) until every migration
 * of `names` has finished.
 */
export async function waitMigrationsFinished(pool: Pool, names: string[], timeoutMs = 300_000): Promise<void> {
  await waitFor(
    `migrations ${names.join(', ')} to finish`,
    async () => {
      const { rows } = await pool.query('SELECT count(*)::int AS n FROM bbm.migrations WHERE name = ANY($1) AND status = $2', [
        names,
        MigrationStatus.FINISHED,
      ]);
      return rows[0].n === names.length;
    },
    timeoutMs,
    200,
  );
}

/** Task-started identities in the histories of `handles`, with how many tasks each started. */
export async function taskIdentities(handles: WorkflowHandle[]): Promise<Map<string, number>> {
  const identities = new Map<string, number>();
  for (const h of handles) {
    const history = await h.fetchHistory();
    for (const e of history.events ?? []) {
      const identity = e.workflowTaskStartedEventAttributes?.identity ?? e.activityTaskStartedEventAttributes?.identity;
      if (identity) identities.set(identity, (identities.get(identity) ?? 0) + 1);
    }
  }
  return identities;
}

/** Postgres's clock now, as a Date: job timestamps come from the same clock. */
export async function dbNow(pool: Pool): Promise<Date> {
  const { rows } = await pool.query('SELECT clock_timestamp() AS t');
  return rows[0].t as Date;
}

/**
 * Seconds from `since` to the first job of `names` committed after it (undefined if none yet);
 * with `handedOutAfter`, only jobs that were also handed out (found) after it count.
 */
export async function firstCommitAfter(pool: Pool, names: string[], since: Date, handedOutAfter = false): Promise<number | undefined> {
  const { rows } = await pool.query(
    `SELECT extract(epoch FROM min(j.finished_at) - $2::timestamptz)::float8 AS s FROM bbm.jobs j JOIN bbm.migrations m ON m.id = j.migration_id
      WHERE m.name = ANY($1) AND j.finished_at > $2 AND ($3::boolean IS FALSE OR j.created_at > $2)`,
    [names, since, handedOutAfter],
  );
  return rows[0].s === null ? undefined : Number(rows[0].s);
}

/** For each migration of `names`, in that order, seconds from `since` to its first job committed after it (NaN: none). */
export async function resumeTimes(pool: Pool, names: string[], since: Date): Promise<number[]> {
  const { rows } = await pool.query(
    `SELECT m.name, extract(epoch FROM min(j.finished_at) - $2::timestamptz)::float8 AS s FROM bbm.migrations m
       LEFT JOIN bbm.jobs j ON j.migration_id = m.id AND j.finished_at > $2
      WHERE m.name = ANY($1) GROUP BY m.name ORDER BY array_position($1::text[], m.name)`,
    [names, since],
  );
  return rows.map((r) => (r.s === null ? NaN : Number(r.s)));
}
