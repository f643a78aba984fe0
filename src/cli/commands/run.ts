import type { Command } from 'commander';
import { runToCompletion, type RunProgress } from '../../enqueuer/run';
import { isBbmError, ErrorCode } from '../../errors';
import { LIMITS } from '../../engine/constants';
import { action } from '../action';
import type { CliContext } from '../context';
import { ExitCode } from '../exit-codes';
import { formatDuration, renderFields } from '../output';
import { integerIn } from '../parse';
import { ProgressView } from '../progress';

interface RunOptions {
  maxJobRetry?: number;
  capacity?: number;
}

export function registerRun(program: Command): void {
  program
    .command('run')
    .description('run every migration to completion: resume paused ones, wake the enqueuer, show progress; exit 3 if any failed')
    .option(
      '--max-job-retry <n>',
      `attempts per job before a migration fails (${LIMITS.MIN_JOB_ATTEMPTS}..${LIMITS.MAX_JOB_ATTEMPTS}; default 5)`,
      integerIn(LIMITS.MIN_JOB_ATTEMPTS, LIMITS.MAX_JOB_ATTEMPTS),
    )
    .option('--capacity <n>', 'capacity to start the enqueuer with, when none runs yet', integerIn(1, 1000))
    .action(action<RunOptions>((ctx, _args, opts) => run(ctx, opts)));
}

async function run(ctx: CliContext, opts: RunOptions): Promise<number> {
  const pool = await ctx.db();
  const client = await ctx.client();
  const abort = new AbortController();
  const onSignal = (): void => abort.abort();
  process.once('SIGINT', onSignal);
  const view = new ProgressView({ out: ctx.out, title: 'run', rows: false });
  try {
    const result = await runToCompletion({
      client,
      pool,
      taskQueue: ctx.config.taskQueue,
      audit: ctx.audit,
      maxJobAttempts: opts.maxJobRetry,
      enqueuer: opts.capacity !== undefined ? { capacity: opts.capacity } : undefined,
      signal: abort.signal,
      onProgress: (p: RunProgress) => {
        view.update({ fraction: p.percent / 100, detail: detail(p) });
      },
    });
    view.stop();
    ctx.out.result(result, () =>
      [
        result.resumed.length > 0 ? `Resumed ${result.resumed.length} paused migration(s) first: ${result.resumed.join(', ')}.` : '',
        renderFields([
          ['finished', `${result.finished} of ${result.total}`],
          ['failed', result.failed > 0 ? `${result.failed}: ${result.failedMigrations.join(', ')}` : '0'],
          ['paused meanwhile', result.paused],
          ['took', formatDuration(result.durationMs / 1000)],
        ]),
        result.failed > 0
          ? 'Some migrations failed: inspect them with `bbm migrations status <name>`, fix the cause, then `bbm migrations retry <name>` and `bbm run` again.'
          : result.ok
            ? 'All migrations finished.'
            : 'Stopped: some migrations were paused while the run waited.',
      ]
        .filter(Boolean)
        .join('\n'),
    );
    return result.ok ? ExitCode.OK : ExitCode.MIGRATION_FAILED;
  } catch (err) {
    view.stop();
    if (abort.signal.aborted && isBbmError(err, ErrorCode.CANCELLED)) {
      ctx.out.note('Stopped waiting; the migrations carry on in the background (follow them with `bbm migrations status --watch`).');
      return 130;
    }
    throw err;
  } finally {
    process.off('SIGINT', onSignal);
  }
}

function detail(p: RunProgress): string {
  const s = p.byStatus;
  return `${s.finished ?? 0}/${p.total} finished, ${s.running ?? 0} running, ${s.active ?? 0} waiting, ${s.failed ?? 0} failed${s.paused ? `, ${s.paused} paused` : ''}`;
}
