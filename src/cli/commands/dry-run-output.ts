import type { DryRunReport } from '../../engine/dry-run';
import { formatCount, formatDuration, renderFields } from '../output';

/** The dry run for people: the plan, each work query's EXPLAIN, the warnings, the estimate. */
export function renderDryRun(r: DryRunReport): string {
  const first =
    r.firstJob === null
      ? 'nothing to migrate'
      : r.firstJob.start === null
        ? `the first ${formatCount(r.batchSize)} NULL rows`
        : `${r.firstJob.start}..${r.firstJob.end}`;
  const lines = [
    `Dry run of ${r.name}: nothing was written.`,
    renderFields([
      ['repository', r.repository],
      ['work', r.work],
      ['target', `${r.table}.${r.column} (${r.strategy}, batch size ${formatCount(r.batchSize)})`],
      ['estimated rows', formatCount(r.estimatedRows)],
      ['estimated jobs', r.strategy === 'distinct' ? `at most ${formatCount(r.estimatedJobs)}` : formatCount(r.estimatedJobs)],
      ['first job', first],
      ['sample job', r.sample ? `${formatCount(r.sample.rows)} rows in ${r.sample.durationMs} ms (rolled back)` : null],
      [
        'estimated time',
        r.estimatedWorkSeconds === null ? null : `~${formatEstimate(r.estimatedWorkSeconds)} of work (pauses and bookkeeping not included)`,
      ],
    ]),
  ];
  for (const q of r.queries) {
    lines.push('', `Work query: ${q.sql.replace(/\s+/g, ' ').trim()}`);
    lines.push(...(q.plan ?? ['(not explainable)']).map((l) => `  ${l}`));
  }
  lines.push('', ...(r.warnings.length > 0 ? r.warnings.map((w) => `warning: ${w}`) : ['No warnings.']));
  return lines.join('\n');
}

/**
 * A work-time estimate with sensible precision: milliseconds below a second, two significant
 * digits below a minute, then minutes and hours. A small table's estimate read "~0s" before
 * (found by a fresh tester).
 */
export function formatEstimate(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '-';
  if (seconds === 0) return '0 ms';
  if (seconds < 0.001) return 'under 1 ms';
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 59.5) return `${Number(seconds.toPrecision(2))} s`;
  return formatDuration(seconds);
}
