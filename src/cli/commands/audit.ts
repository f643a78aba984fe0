import type { Command } from 'commander';
import { parseSince } from '../../audit/actor';
import type { AuditEvent } from '../../store/audit';
import { action } from '../action';
import { ExitCode } from '../exit-codes';
import { renderTable } from '../output';
import { integerIn } from '../parse';

interface AuditOptions {
  migration?: string;
  repository?: string;
  since?: string;
  limit?: number;
}

/**
 * `bbm audit [--migration NAME] [--repository KEY] [--since 1h|ISO] [--limit N] [--json]`: the
 * operator actions recorded in bbm.audit_events, oldest first (the most recent `--limit`, 100 by
 * default). INVALID_INPUT for an unusable --since.
 */
export function registerAudit(program: Command): void {
  program
    .command('audit')
    .description(
      'who did what, when: every operator action (create, pause, resume, retry, cancel, finalize, configure, batch size, capacity, schedule)',
    )
    .option('--migration <name>', "this migration's events (including repository-wide ones that covered it)")
    .option('--repository <key>', "this repository's events")
    .option('--since <when>', 'events at or after an ISO 8601 time, or this long ago (30m, 1h, 2d, 1w)')
    .option('--limit <n>', 'at most this many, the most recent', integerIn(1, 100_000), 100)
    .action(
      action<AuditOptions>(async (ctx, _args, opts) => {
        const since = opts.since === undefined ? undefined : parseSince(opts.since);
        const events = await ctx.repositories().audit({ migration: opts.migration, repository: opts.repository, since, limit: opts.limit });
        ctx.out.result(events, () => (events.length === 0 ? 'No audit events match.' : renderEvents(events)));
        return ExitCode.OK;
      }),
    );
}

function renderEvents(events: AuditEvent[]): string {
  const brief = (v: unknown): string => (v === null || v === undefined ? '' : JSON.stringify(v));
  return renderTable(
    ['at', 'actor', 'via', 'action', 'target', 'before', 'after'],
    events.map((e) => [e.at, e.actor, e.via, e.action, e.target, brief(e.before), brief(e.after)]),
  );
}
