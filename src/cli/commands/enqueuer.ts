import type { Client } from '@temporalio/client';
import { type Command, InvalidArgumentError } from 'commander';
import { enqueuerStatus, getCapacity } from '../../enqueuer/client';
import { ENQUEUER_DEFAULTS } from '../../enqueuer/policy';
import {
  deleteScheduleRecorded,
  ensureScheduleRecorded,
  setCapacityRecorded,
  wakeEnqueuerRecorded,
  type EnqueuerOperatorDeps,
} from '../../enqueuer/operator';
import { invalidInput } from '../../errors';
import type { Knobs } from '../../knobs';
import { enqueuerScheduleId, enqueuerWorkflowId } from '../../contract/ids';
import type { EnqueuerReport } from '../../contract/messages';
import { action } from '../action';
import type { CliContext } from '../context';
import { ExitCode } from '../exit-codes';
import { renderFields } from '../output';
import { checkedKnobs, collectKnob, duration, integerIn } from '../parse';

interface EnqueueOptions {
  reason?: string;
  prefix?: string;
  knob?: Partial<Knobs>;
  capacity?: number;
  wait: boolean;
}

export function registerEnqueuer(program: Command): void {
  program
    .command('enqueue')
    .description('wake the enqueuer (signal-with-start): it starts repository workflows up to its capacity')
    .option('--reason <text>', 'who is asking (logged and reported)', 'cli')
    .option('--prefix <text>', 'only repositories whose key starts with this')
    .option(
      '--knob <name=value>',
      'knobs for the repository workflows it starts from now on (repeatable); with --prefix, only for that prefix',
      collectKnob,
    )
    .option('--capacity <n>', 'capacity to start with, when no enqueuer runs yet', integerIn(0, 1000))
    .option('--no-wait', "do not wait for the wake-up's report")
    .action(action<EnqueueOptions>((ctx, _args, opts) => enqueue(ctx, opts)));

  program
    .command('capacity [action] [n]')
    .description(
      "`capacity` or `capacity get`: the enqueuer's capacity; `capacity set N`: change it at runtime (0..1000; 0 starts nothing new)",
    )
    .action(action((ctx, [verb, value]) => capacity(ctx, verb ?? 'get', value)));

  const schedule = program.command('schedule').description('the Temporal Schedule that wakes the enqueuer periodically');
  schedule
    .command('create')
    .description('create the schedule, or update it to these settings (idempotent: safe on every deploy)')
    .option('--every <duration>', 'interval, e.g. 30s, 5m, 1h', duration, 60_000)
    .option('--paused', 'create it paused')
    .action(
      action<{ every: number; paused?: boolean }>(async (ctx, _args, opts) => {
        if (opts.every % 1000 !== 0) throw invalidInput('--every must be a whole number of seconds.');
        const result = await ensureScheduleRecorded(await operatorDeps(ctx), {
          intervalSeconds: opts.every / 1000,
          paused: Boolean(opts.paused),
        });
        ctx.out.result(
          { ...result, intervalSeconds: opts.every / 1000, paused: Boolean(opts.paused) },
          () =>
            `${result.created ? 'Created' : 'Updated'} schedule ${result.scheduleId}: wakes the enqueuer every ${opts.every / 1000}s${opts.paused ? ' (paused)' : ''}.`,
        );
      }),
    );
  schedule
    .command('delete')
    .description('delete the schedule (the enqueuer itself keeps running)')
    .action(
      action(async (ctx) => {
        const deleted = await deleteScheduleRecorded(await operatorDeps(ctx));
        const scheduleId = enqueuerScheduleId(ctx.config.taskQueue);
        ctx.out.result({ scheduleId, deleted }, () =>
          deleted ? `Deleted schedule ${scheduleId}.` : `No schedule ${scheduleId}; nothing to delete.`,
        );
      }),
    );
}

async function enqueue(ctx: CliContext, opts: EnqueueOptions): Promise<number> {
  const deps = await operatorDeps(ctx);
  const { client, taskQueue } = deps;
  const before = await enqueuerStatus(client, taskQueue);
  const woken = await wakeEnqueuerRecorded(
    deps,
    {
      reason: opts.reason,
      ...(opts.prefix ? { repositoryPrefix: opts.prefix } : {}),
      ...(opts.knob ? { knobs: checkedKnobs(opts.knob) } : {}),
    },
    opts.capacity !== undefined ? { capacity: opts.capacity } : {},
    before,
  );
  const reason = opts.reason ?? 'cli';
  const report = opts.wait ? await waitForReport(client, taskQueue, before?.wakeUps ?? 0, reason, 15_000) : undefined;
  ctx.out.result({ ...woken, report: report ?? null }, () => {
    const lines = [`Woke the enqueuer ${woken.workflowId} (run ${woken.runId}).`];
    if (report) lines.push(renderReport(report));
    else if (opts.wait) lines.push('No report within 15s: is a worker polling this task queue? Check with `bbm doctor`.');
    return lines.join('\n');
  });
  return ExitCode.OK;
}

/**
 * The wake-up's own report: wait until the enqueuer has processed every pending request, then
 * pick from its recent wake-ups the first one after `wakeUpsBefore` that served `reason`, with
 * the self re-wakes it chained (they start what it left room for). The latest wake-up alone may
 * be such a re-wake, which started nothing; an enqueuer too old to keep recent wake-ups gives
 * its latest report, as before.
 */
async function waitForReport(
  client: Client,
  taskQueue: string,
  wakeUpsBefore: number,
  reason: string,
  timeoutMs: number,
): Promise<EnqueuerReport | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const report = await enqueuerStatus(client, taskQueue).catch(() => undefined);
    if (report && report.wakeUps > wakeUpsBefore && report.pending === 0) return ownWakeUp(report, wakeUpsBefore, reason);
    await new Promise((r) => setTimeout(r, 250));
  }
  return undefined;
}

/** The report with its per-wake-up fields taken from the wake-up that served `reason` (see waitForReport). */
export function ownWakeUp(report: EnqueuerReport, wakeUpsBefore: number, reason: string): EnqueuerReport {
  const recent = (report.recent ?? []).filter((w) => w.wakeUp > wakeUpsBefore);
  const index = recent.findIndex((w) => w.reason.split(',').includes(reason));
  const own = recent[index];
  if (!own) return report;
  const chained = [own];
  for (const next of recent.slice(index + 1)) {
    if (!next.reason.split(',').includes('self')) break;
    chained.push(next);
  }
  const last = chained[chained.length - 1] ?? own;
  return {
    ...report,
    reason: own.reason,
    started: chained.flatMap((w) => w.started),
    alreadyRunning: [...new Set(chained.flatMap((w) => w.alreadyRunning))],
    noRepositoryFound: chained.every((w) => w.noRepositoryFound),
    atCapacity: last.atCapacity,
    at: own.at,
  };
}

function renderReport(r: EnqueuerReport): string {
  return renderFields([
    ['reason', r.reason],
    ['capacity', r.capacity],
    ['running', r.running.length > 0 ? `${r.running.length}: ${r.running.join(', ')}` : '0'],
    ['started now', r.started.length > 0 ? r.started.join(', ') : 'none'],
    ['already running', r.alreadyRunning.length > 0 ? r.alreadyRunning.join(', ') : 'none'],
    ['knobs', Object.keys(r.knobs).length > 0 ? JSON.stringify(r.knobs) : 'defaults'],
    ...Object.entries(r.knobsByPrefix ?? {}).map(([prefix, knobs]): [string, string] => [`knobs for ${prefix}*`, JSON.stringify(knobs)]),
    [
      'note',
      r.noRepositoryFound ? 'no repository found (nothing eligible that is not already running)' : r.atCapacity ? 'at capacity' : null,
    ],
  ]);
}

async function capacity(ctx: CliContext, verb: string, value: string | undefined): Promise<number> {
  const taskQueue = ctx.config.taskQueue;
  if (verb === 'get') {
    if (value !== undefined) throw invalidInput('`bbm capacity get` takes no value; to change it: `bbm capacity set N`.');
    const client = await ctx.client();
    const current = await getCapacity(client, taskQueue);
    const report = current === undefined ? undefined : await enqueuerStatus(client, taskQueue);
    ctx.out.result(
      {
        workflowId: enqueuerWorkflowId(taskQueue),
        running: current !== undefined,
        capacity: current ?? null,
        defaultCapacity: ENQUEUER_DEFAULTS.capacity,
        runningRepositories: report?.running ?? [],
      },
      () =>
        current === undefined
          ? `No enqueuer is running on task queue ${taskQueue}; it starts with capacity ${ENQUEUER_DEFAULTS.capacity} unless told otherwise (bbm capacity set N, or bbm enqueue --capacity N).`
          : `Capacity ${current} (enqueuer ${enqueuerWorkflowId(taskQueue)}); ${report?.running.length ?? 0} repository workflow(s) running.`,
    );
    return ExitCode.OK;
  }
  if (verb === 'set') {
    if (value === undefined) throw invalidInput('Usage: bbm capacity set N (an integer from 0 to 1000).');
    let n: number;
    try {
      n = integerIn(0, 1000)(value);
    } catch (err) {
      if (err instanceof InvalidArgumentError) throw invalidInput(`Capacity ${JSON.stringify(value)} is invalid: ${err.message}`);
      throw err;
    }
    const { capacity: applied, startedEnqueuer } = await setCapacityRecorded(await operatorDeps(ctx), n);
    ctx.out.result({ workflowId: enqueuerWorkflowId(taskQueue), capacity: applied, startedEnqueuer }, () =>
      startedEnqueuer
        ? `No enqueuer was running on task queue ${taskQueue}: started one with capacity ${applied}.`
        : `Capacity set to ${applied}; the running enqueuer applies it now: a higher capacity starts more repositories at once, a lower one starts none until fewer run (running repositories are never stopped).`,
    );
    return ExitCode.OK;
  }
  throw invalidInput(`Unknown capacity action ${JSON.stringify(verb)}: use \`bbm capacity get\` or \`bbm capacity set N\`.`);
}

/**
 * The enqueuer commands' Temporal client and audit source. Events go to the database when one is
 * configured; without DATABASE_URL the action still runs, with a note that it was not recorded.
 */
async function operatorDeps(ctx: CliContext): Promise<EnqueuerOperatorDeps> {
  const client = await ctx.client();
  if (!ctx.config.databaseUrl) ctx.out.note('note: DATABASE_URL is not set, so this action is not recorded in the audit trail.');
  const pool = ctx.config.databaseUrl ? await ctx.db() : undefined;
  return { client, taskQueue: ctx.config.taskQueue, pool, audit: ctx.audit };
}
