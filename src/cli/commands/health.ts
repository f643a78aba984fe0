import type { Command } from 'commander';
import { BbmError, ErrorCode } from '../../errors';
import { checkHealth, type CheckHealthResult } from '../../health/check';
import { formatValue } from '../../health/format';
import { HealthMonitor } from '../../health/monitor';
import type { Knobs } from '../../knobs';
import { action } from '../action';
import { ExitCode } from '../exit-codes';
import { renderTable } from '../output';
import { checkedKnobs, collectKnob } from '../parse';

interface HealthOptions {
  migration?: string;
  table?: string;
  repository?: string;
  knob?: Partial<Knobs>;
}

/** One line of `bbm health`: an indicator, its reading, its threshold and what that means. */
export interface HealthRow {
  indicator: string;
  value: number | null;
  unit: string;
  threshold: number | null;
  verdict: 'ok' | 'tripped' | 'off' | 'unknown';
  detail: string | null;
}

export function registerHealth(program: Command): void {
  program
    .command('health')
    .description(
      "read the database's health indicators (replication lag, WAL archive backlog, old transactions, vacuum and lock waits on the table) and judge them",
    )
    .option('--migration <name>', "include the indicators of this migration's table")
    .option('--table <table>', 'include the indicators of this table (table or schema.table)')
    .option('--repository <key>', "include the indicators of this repository's current migration's table")
    .option('--knob <name=value>', 'a threshold other than the default, e.g. --knob maxReplicationLagMs=5000 (repeatable)', collectKnob)
    .addHelpText(
      'after',
      '\nAn indicator trips when its value is above its threshold; a threshold knob of 0 turns it off. See README "Protecting production".',
    )
    .action(
      action<HealthOptions>(async (ctx, _args, opts) => {
        const pool = await ctx.db();
        const result = await checkHealth(
          { db: pool, monitor: new HealthMonitor({ db: pool }) },
          { migration: opts.migration, table: opts.table, repository: opts.repository, thresholds: checkedKnobs(opts.knob), fresh: true },
        );
        if (!result.readings.tableFound)
          throw new BbmError(ErrorCode.INVALID_TABLE, `Table ${result.table} does not exist; check the name (schema.table).`, {
            table: result.table,
          });
        const rows = healthRows(result);
        ctx.out.result(
          { healthy: result.verdict.healthy, at: result.readings.at, table: result.table, indicators: rows, verdict: result.verdict },
          () => render(result, rows),
        );
        return ExitCode.OK;
      }),
    );
}

export function healthRows(result: CheckHealthResult): HealthRow[] {
  return result.readings.readings.map((r) => {
    const threshold = result.thresholds[r.indicator] ?? null;
    const verdict = threshold === null ? 'off' : r.value === null ? 'unknown' : r.value > threshold ? 'tripped' : 'ok';
    return { indicator: r.indicator, value: r.value, unit: r.unit, threshold, verdict, detail: r.detail ?? null };
  });
}

function render(result: CheckHealthResult, rows: HealthRow[]): string {
  const table = renderTable(
    ['INDICATOR', 'VALUE', 'THRESHOLD', 'VERDICT', 'DETAIL'],
    rows.map((r) => [
      r.indicator,
      formatValue(r.value, r.unit),
      r.threshold === null ? 'off' : `> ${formatValue(r.threshold, r.unit)}`,
      r.verdict === 'tripped' ? 'TRIPPED' : r.verdict,
      r.detail ?? '',
    ]),
  );
  const scope = result.table
    ? `table ${result.table}`
    : 'cluster-wide only (add --migration, --repository or --table for the table indicators)';
  const tripped = rows.filter((r) => r.verdict === 'tripped').map((r) => r.indicator);
  const summary =
    tripped.length === 0
      ? 'Healthy: a repository would start its next job.'
      : `Unhealthy: a repository would hold its jobs (${tripped.join(', ')}).`;
  return [`Health at ${result.readings.at}, ${scope}`, '', table, '', summary].join('\n');
}
