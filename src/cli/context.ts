import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import { redactUrl, resolveConfig, type BbmConfig } from '../config';
import { checkConnection, createPool } from '../db/pool';
import { schemaVersion } from '../db/schema';
import type { DatabaseInfo } from '../contract/workflows';
import { BbmError, ErrorCode } from '../errors';
import { createLogger, type Logger } from '../logger';
import { RepositoryService } from '../repository/service';
import { serverInfo } from '../store/server';
import { connectClient } from '../temporal/connection';
import { Output } from './output';
import { resolveActor } from '../audit/actor';
import type { AuditSource } from '../contract/audit';

/** Options every command accepts (declared once on the program). */
export interface GlobalOptions {
  databaseUrl?: string;
  temporalAddress?: string;
  namespace?: string;
  taskQueue?: string;
  logLevel?: string;
  json?: boolean;
  /** Who runs the command, for the audit trail. @default the OS user */
  actor?: string;
}

/**
 * What a command needs, opened lazily and closed once: the resolved configuration, the output,
 * a Postgres pool and a Temporal client. A command that never touches Temporal never connects.
 */
export class CliContext {
  readonly config: BbmConfig;
  readonly out: Output;
  /**
   * The audit trail's source of this command's actions: `--actor` or the OS user, via `cli`
   * (INVALID_INPUT for an unusable --actor, before anything opens). Also the Temporal client's identity.
   */
  readonly audit: AuditSource;
  private poolPromise: Promise<Pool> | undefined;
  private clientPromise: Promise<Client> | undefined;
  private loggerInstance: Logger | undefined;
  private repositoryService: RepositoryService | undefined;
  private readonly closers: (() => Promise<void>)[] = [];

  constructor(globals: GlobalOptions, env: NodeJS.ProcessEnv = process.env) {
    this.out = new Output({ json: Boolean(globals.json) });
    this.audit = { actor: resolveActor(globals.actor), via: 'cli' };
    this.config = resolveConfig(env, {
      databaseUrl: globals.databaseUrl,
      temporalAddress: globals.temporalAddress,
      namespace: globals.namespace,
      taskQueue: globals.taskQueue,
      logLevel: globals.logLevel,
    });
  }

  /** Logs go to stderr for one-shot commands, so stdout stays the command's result. */
  get logger(): Logger {
    this.loggerInstance ??= createLogger({
      level: this.config.logLevel,
      pretty: Boolean(process.stderr.isTTY),
      destination: process.stderr,
    });
    return this.loggerInstance;
  }

  get databaseUrl(): string {
    if (!this.config.databaseUrl) {
      throw new BbmError(
        ErrorCode.CONFIG_INVALID,
        'DATABASE_URL is not set. Set it (or pass --database-url) to the Postgres database bbm manages; `bbm dev` prints the one of the local stack.',
        { setting: 'DATABASE_URL' },
      );
    }
    return this.config.databaseUrl;
  }

  /** A small pool, checked once: CANNOT_CONNECT (without the password) when Postgres is unreachable. */
  db(): Promise<Pool> {
    this.poolPromise ??= (async () => {
      const url = this.databaseUrl;
      const pool = createPool({ url, max: 4, applicationName: 'bbm-cli' });
      this.closers.push(() => pool.end());
      await checkConnection(pool, url);
      return pool;
    })();
    return this.poolPromise;
  }

  client(): Promise<Client> {
    this.clientPromise ??= (async () => {
      const client = await connectClient(this.config, this.audit.actor);
      this.closers.push(() => client.connection.close());
      return client;
    })();
    return this.clientPromise;
  }

  /**
   * The repository service over this command's pool and client (each opened on first use).
   * Command files reach repositories and their migrations only through it.
   */
  repositories(): RepositoryService {
    this.repositoryService ??= new RepositoryService({
      db: () => this.db(),
      hasDatabase: Boolean(this.config.databaseUrl),
      client: () => this.client(),
      taskQueue: this.config.taskQueue,
      audit: this.audit,
    });
    return this.repositoryService;
  }

  /** Server version, database name and bbm's schema version, read directly (what `bbm doctor` compares with the worker's view). */
  async databaseInfo(): Promise<DatabaseInfo> {
    const pool = await this.db();
    return { ...(await serverInfo(pool)), schemaVersion: await schemaVersion(pool) };
  }

  /** Where the database lives, for messages (password redacted). */
  describeDatabase(): string {
    return this.config.databaseUrl ? redactUrl(this.config.databaseUrl) : '(DATABASE_URL not set)';
  }

  onClose(fn: () => Promise<void>): void {
    this.closers.push(fn);
  }

  async close(): Promise<void> {
    for (const fn of this.closers.splice(0).reverse()) await fn().catch(() => undefined);
  }
}
