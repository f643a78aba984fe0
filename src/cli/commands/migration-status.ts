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
          const shown = await withThrottle(progress, () => repositories.throttled());
          ctx.out.result(name ? shown[0] : shown, () => (name ? renderOne(shown[0] as Shown) : renderAll(shown)));
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

/** A migration as status shows it: `throttled` is the repository's live throttle, when a health indicator holds its jobs. */
type Shown = MigrationProgress & { throttled?: string };

/** Mark running migrations whose repository is throttled (asks Temporal only when one runs). */
async function withThrottle(progress: MigrationProgress[], throttled: () => Promise<Map<string, string>>): Promise<Shown[]> {
  if (!progress.some((p) => p.status === 'running')) return progress;
  const byRepository = await throttled();
  return progress.map((p) => {
    const detail = p.status === 'running' ? byRepository.get(p.repository) : undefined;
    return detail ? { ...p, throttled: detail } : p;
  });
}

function statusText(p: Shown): string {
  if (p.throttled) return `${p.status} (${p.throttled})`;
  return p.failure ? `${p.status} (${p.failure})` : p.status;
}

function renderAll(progress: Shown[]): string {
  if (progress.length === 0) return 'No migrations yet. Define one with `bbm migrations create`.';
  return renderTable(
    ['NAME', 'REPOSITORY', 'STATUS', 'PROGRESS', 'ROWS', 'JOBS DONE', 'FAILED JOBS', 'ROWS/S', 'ETA'],
    progress.map((p) => [
      p.name,
      p.repository,
      statusText(p),
      formatPercent(p.percent),
      formatCount(p.rowsProcessed),
      formatCount(p.jobs.finished),
      formatCount(p.jobs.failed),
      p.rowsPerSecond === null ? '-' : formatCount(p.rowsPerSecond),
      p.status === 'finished' ? '-' : formatDuration(p.etaSeconds),
    ]),
  );
}

/** The tuned size and its target: "12,100 (tuned toward 500 ms per job, 1,000..1,000,000)", or "1,000 (fixed)". */
function batchSizeText(p: MigrationProgress): string {
  if (p.targetJobMs === undefined) return formatCount(p.batchSize);
  if (p.targetJobMs <= 0) return `${formatCount(p.batchSize)} (fixed)`;
  return `${formatCount(p.batchSize)} (tuned toward ${p.targetJobMs} ms per job, ${formatCount(p.minBatchSize ?? null)}..${formatCount(p.maxBatchSize ?? null)})`;
}

export function renderOne(p: Shown): string {
  const r = p.currentRange;
  // A job part-done in sub-batches shows how far it got.
  const partDone = r?.cursor && r.cursor !== String(r.end) ? ` (sub-batches done through ${r.cursor})` : '';
  const range = r ? (r.start === null ? 'next NULL rows' : `${r.start}..${r.end}${partDone}`) : null;
  return renderFields([
    ['migration', `${p.name} (#${p.id})`],
    ['repository', p.repository],
    ['status', statusText(p)],
    ['progress', `${formatPercent(p.percent)} (${formatCount(p.rowsProcessed)} of ~${formatCount(p.totalEstimate)} rows)`],
    ['jobs', `${formatCount(p.jobs.finished)} finished, ${formatCount(p.jobs.active)} active, ${formatCount(p.jobs.failed)} failed`],
    ['last range', range],
    ['last error', p.lastError],
    ['batch size', batchSizeText(p)],
    ['sub-batches', subBatchText(p.subBatchSize, p.subBatchPauseMs)],
    ['rate', p.rowsPerSecond === null ? null : `${formatCount(p.rowsPerSecond)} rows/s`],
    ['eta', p.status === 'finished' ? null : formatDuration(p.etaSeconds)],
    ['started', p.startedAt],
    ['finished', p.finishedAt],
  ]);
}
