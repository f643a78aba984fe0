import { execFile } from 'node:child_process';
import { BbmError, ErrorCode } from '../errors';
import type { Logger } from '../logger';

/** Where Temporal's two stores live in one PostgreSQL server. */
export interface TemporalDatabases {
  /** Persistence: histories, mutable state, shards, membership. @default "temporal" */
  database: string;
  /** Visibility: the store `workflow list` and search attributes query. @default "temporal_visibility" */
  visibilityDatabase: string;
}

/** How the schema tool reaches PostgreSQL; the password goes through the environment (SQL_PASSWORD), never argv. */
export interface SchemaConnection {
  host: string;
  port: number;
  user: string;
  password?: string;
}

/** The plugin name the schema tool and the server config use for PostgreSQL 12 and later. */
export const TEMPORAL_SQL_PLUGIN = 'postgres12';

/**
 * The schema tool commands that set up (or upgrade) both stores, after the connection flags:
 * create the database, install the versioning tables, then apply every versioned step of the
 * schema compiled into the tool. Each step is idempotent, so this runs on every start.
 * docker-compose.yml's `temporal-schema` service runs exactly these (test/compose-cluster.test.ts).
 */
export function temporalSchemaSteps(dbs: TemporalDatabases): string[][] {
  const steps = (db: string, schema: string): string[][] => [
    ['--db', db, 'create-database'],
    ['--db', db, 'setup-schema', '-v', '0.0'],
    ['--db', db, 'update-schema', '--schema-name', schema],
  ];
  return [...steps(dbs.database, 'postgresql/v12/temporal'), ...steps(dbs.visibilityDatabase, 'postgresql/v12/visibility')];
}

/** The connection flags every step starts with. */
export function schemaConnectionArgs(conn: SchemaConnection): string[] {
  return ['--plugin', TEMPORAL_SQL_PLUGIN, '--ep', conn.host, '-p', String(conn.port), '-u', conn.user];
}

/**
 * Run temporalSchemaSteps with the schema tool binary `sqlTool`.
 *
 * @throws BbmError SERVICE_START_FAILED naming the step and with the tool's output.
 */
export async function setUpTemporalSchemas(sqlTool: string, conn: SchemaConnection, dbs: TemporalDatabases, logger: Logger): Promise<void> {
  const started = Date.now();
  for (const step of temporalSchemaSteps(dbs)) {
    const args = [...schemaConnectionArgs(conn), ...step];
    await new Promise<void>((resolve, reject) => {
      execFile(sqlTool, args, { env: { SQL_PASSWORD: conn.password ?? '' }, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
        if (!err) return resolve();
        const output = `${stdout}${stderr}`.split('\n').slice(-15).join('\n');
        reject(
          new BbmError(
            ErrorCode.SERVICE_START_FAILED,
            `Temporal schema setup failed at \`temporal-sql-tool ${step.join(' ')}\`: ${err.message}\n${output}`,
          ),
        );
      });
    });
  }
  logger.debug({ ...dbs, duration_s: (Date.now() - started) / 1000 }, 'Temporal schemas are current');
}
