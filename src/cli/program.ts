import fs from 'node:fs';
import path from 'node:path';
import { Command, Option } from 'commander';
import { PROJECT_ROOT } from '../config';
import { registerAudit } from './commands/audit';
import { registerConfigure } from './commands/configure';
import { registerDev } from './commands/dev';
import { registerDoctor } from './commands/doctor';
import { registerEnqueuer } from './commands/enqueuer';
import { registerFinalize } from './commands/finalize';
import { registerMigrationControl } from './commands/migration-control';
import { registerMigrationStatus } from './commands/migration-status';
import { registerHealth } from './commands/health';
import { registerMigrations } from './commands/migrations';
import { registerRepositories } from './commands/repositories';
import { registerRun } from './commands/run';
import { registerSetup } from './commands/setup';
import { registerWorker } from './commands/worker';

// package.json sits outside the compiled tree (dist/src/cli/ when installed): read it at run time.
const VERSION = (JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

/** The whole command tree. Global options may come before or after the command. */
export function buildProgram(): Command {
  const program = new Command('bbm')
    .description('Batched background migrations for PostgreSQL, orchestrated by Temporal.')
    .version(VERSION)
    .option('--database-url <url>', 'Postgres connection string (env DATABASE_URL)')
    .option('--temporal-address <host:port>', 'Temporal frontend (env TEMPORAL_ADDRESS; default localhost:7233)')
    .option('--namespace <name>', 'Temporal namespace (env TEMPORAL_NAMESPACE; default "default")')
    .option('--task-queue <name>', 'task queue of the bbm workers (env BBM_TASK_QUEUE; default "bbm")')
    .addOption(
      new Option('--log-level <level>', 'log level (env BBM_LOG_LEVEL; default info)').choices([
        'trace',
        'debug',
        'info',
        'warn',
        'error',
        'silent',
      ]),
    )
    .option('--json', 'machine-readable JSON on stdout instead of tables')
    .option(
      '--actor <name>',
      'who runs the command, recorded in the audit trail (bbm audit) and as the Temporal identity (default: the OS user)',
    )
    .showSuggestionAfterError(true)
    .addHelpText(
      'after',
      '\nExit codes: 0 ok, 1 unexpected, 2 bad input, 3 migration failed, 4 already running, 5 cannot connect, 6 not found, 7 not finished (finalize).\nGuide: README.md',
    );
  const migrations = registerMigrations(program);
  registerMigrationStatus(migrations);
  registerMigrationControl(migrations);
  registerFinalize(migrations);
  registerConfigure(migrations);
  registerRepositories(program);
  registerEnqueuer(program);
  registerRun(program);
  registerWorker(program);
  registerSetup(program);
  registerDoctor(program);
  registerHealth(program);
  registerAudit(program);
  registerDev(program);
  return program;
}
