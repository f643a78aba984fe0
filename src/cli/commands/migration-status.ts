import type { Command } from 'commander';
import { overall, type MigrationProgress } from '../../repository';
import { action } from '../action';
import { ExitCode } from '../exit-codes';
import { formatCount, formatDuration, formatPercent, renderFields, renderTable, subBatchText } from '../output';
import { duration } from '../parse';
import { ProgressView } from '../progress';

interface StatusOptions {
  watch?: boolean;
  interval: number;
  repository?: string;
}

export function registerMigrationStatus(group: Command): void {
  group
    .command('status [name]')
    .description('progress of one migration, or of all; --watch follows it until nothing is left to run')
    .option('-w, --watch', 'keep refreshing until no selected migration is active or running (exit 3 if any failed)')
    .option('--interval <duration>', 'refresh interval for --watch', duration, 2_000)
    .option('--repository <key>', 'only this repository (without a name)')
    .action(
      action<StatusOptions>(async (ctx, [name], opts) => {
        const repositories = ctx.repositories();
        const load = (): Promise<MigrationProgress[]> => repositories.progress({ name, repository: name ? undefined : opts.repository });
        let progress = await load();
        if (!opts.watch) {
          ctx.out.result(name ? progress[0] : progress, () => (name ? renderOne(progress[0] as MigrationProgress) : renderAll(progress)));
          return ExitCode.OK;
        }
        const view = new ProgressView({ out: ctx.out, title: name ?? 'migrations' });
        const settled = (p: MigrationProgress): boolean => p.status === 'finished' || p.status === 'failed';
        // Migrations already settled when the watch began are not news.
        const reported = new Set<string>(progress.filter(settled).map((p) => p.name));
        for (;;) {
          for (const p of progress) {
            if (settled(p) && !reported.has(p.name)) {
              reported.add(p.name);
              view.log(`${p.status === 'finished' ? 'finished' : 'FAILED'}  ${p.name}${p.failure ? ` (${p.failure})` : ''}`);
            }
          }
          view.update(overall(progress));
          if (!progress.some((p) => p.status === 'active' || p.status === 'running')) break;
          await new Promise((r) => setTimeout(r, opts.interval));
          progress = await load();
        }
        view.stop();
        const failed = progress.filter((p) => p.status === 'failed');
        const paused = progress.filter((p) => p.status === 'paused');
        ctx.out.result({ event: 'done', migrations: progress }, () =>
          [
            name ? renderOne(progress[0] as MigrationProgress) : renderAll(progress),
            '',
            failed.length > 0
              ? `${failed.length} failed: ${failed.map((f) => f.name).join(', ')}. See \`bbm migrations status <name>\`, fix the cause, then \`bbm migrations retry <name>\`.`
              : paused.length > 0
                ? `Nothing left to run; ${paused.length} paused (resume with \`bbm migrations resume\`).`
                : 'All done.',
          ].join('\n'),
        );
        return failed.length > 0 ? ExitCode.MIGRATION_FAILED : ExitCode.OK;
      }),
    );
}

function renderAll(progress: MigrationProgress[]): string {
  if (progress.length === 0) return 'No migrations yet. Define one with `bbm migrations create`.';
  return renderTable(
    ['NAME', 'REPOSITORY', 'STATUS', 'PROGRESS', 'ROWS', 'JOBS DONE', 'FAILED JOBS', 'ROWS/S', 'ETA'],
    progress.map((p) => [
      p.name,
      p.repository,
      p.failure ? `${p.status} (${p.failure})` : p.status,
      formatPercent(p.percent),
      formatCount(p.rowsProcessed),
      formatCount(p.jobs.finished),
      formatCount(p.jobs.failed),
      p.rowsPerSecond === null ? '-' : formatCount(p.rowsPerSecond),
      p.status === 'finished' ? '-' : formatDuration(p.etaSeconds),
    ]),
  );
}

export function renderOne(p: MigrationProgress): string {
  const r = p.currentRange;
  // A job part-done in sub-batches shows how far it got.
  const partDone = r?.cursor && r.cursor !== String(r.end) ? ` (sub-batches done through ${r.cursor})` : '';
  const range = r ? (r.start === null ? 'next NULL rows' : `${r.start}..${r.end}${partDone}`) : null;
  return renderFields([
    ['migration', `${p.name} (#${p.id})`],
    ['repository', p.repository],
    ['status', p.failure ? `${p.status} (${p.failure})` : p.status],
    ['progress', `${formatPercent(p.percent)} (${formatCount(p.rowsProcessed)} of ~${formatCount(p.totalEstimate)} rows)`],
    ['jobs', `${formatCount(p.jobs.finished)} finished, ${formatCount(p.jobs.active)} active, ${formatCount(p.jobs.failed)} failed`],
    ['last range', range],
    ['last error', p.lastError],
    ['batch size', formatCount(p.batchSize)],
    ['sub-batches', subBatchText(p.subBatchSize, p.subBatchPauseMs)],
    ['rate', p.rowsPerSecond === null ? null : `${formatCount(p.rowsPerSecond)} rows/s`],
    ['eta', p.status === 'finished' ? null : formatDuration(p.etaSeconds)],
    ['started', p.startedAt],
    ['finished', p.finishedAt],
  ]);
}
