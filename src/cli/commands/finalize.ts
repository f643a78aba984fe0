import type { Command } from 'commander';
import type { MigrationProgress } from '../../repository';
import { action } from '../action';
import { ExitCode } from '../exit-codes';
import { duration } from '../parse';
import { ProgressView } from '../progress';
import { renderOne } from './migration-status';

interface FinalizeOptions {
  run?: boolean;
  timeout?: number;
}

/**
 * `bbm migrations finalize NAME [--run] [--timeout D]`: the finalize gate for deploy scripts.
 * Exit 0 when the migration is finished; 7 (MIGRATION_NOT_FINISHED) while it is not; 3
 * (MIGRATION_FAILED) when it failed. With --run it first runs what is left, showing progress.
 */
export function registerFinalize(group: Command): void {
  group
    .command('finalize <name>')
    .description(
      'pass (exit 0) only when the migration is finished; with --run, run what is left to the end first (a paused one is resumed)',
    )
    .option('--run', 'run the remaining jobs now (starts or attaches to its repository workflow) and wait for the end')
    .option('--timeout <duration>', 'with --run: stop waiting after this long (exit 7; the migration carries on)', duration)
    .action(
      action<FinalizeOptions>(async (ctx, [name], opts) => {
        const view = opts.run ? new ProgressView({ out: ctx.out, title: name as string }) : undefined;
        let progress: MigrationProgress;
        try {
          progress = await ctx.repositories().ensureFinished(name as string, {
            run: opts.run,
            timeoutMs: opts.timeout,
            onProgress: (p) => view?.update({ fraction: p.percent / 100, rows: BigInt(p.rowsProcessed), detail: p.status }),
          });
        } finally {
          view?.stop();
        }
        ctx.out.result(progress, () => `${renderOne(progress)}\n\nMigration ${progress.name} is finished.`);
        return ExitCode.OK;
      }),
    );
}
