import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import type { WorkRegistry } from '../src/engine/registry';
import type { Knobs } from '../src/knobs';
import { runBbm, type BbmRunResult } from './bbm-run';
import { assertJobCount, expectedJobs } from './job-count';
import type { CpuSeconds } from './cpu';
import { resetDataset, TABLE, wrongDigests } from './dataset';
import { engineLoop } from './engine-loop';
import { graphileRun } from './graphile';
import { plainLoops } from './plain-loop';
import type { HistogramTotals } from './proc-memory';
import type { ProgressLine } from './progress';
import { medianOf } from './repeat';
import { bbmResult, engineResult, graphileResult, plainResult, withLoopRatios, type ContenderResult } from './results';

export interface BackfillContext {
  pool: Pool;
  databaseUrl: string;
  client: Client;
  registry: WorkRegistry;
  taskQueue: string;
  progress: ProgressLine;
  /** Measure the CPU of each process group around `fn`. */
  measured: <T>(fn: () => Promise<T>) => Promise<{ value: T; cpu: CpuSeconds }>;
  /** Start measuring CPU; the function returned stops. */
  startCpu: () => () => CpuSeconds;
  prefix: string;
  knobs: Partial<Knobs>;
  rows: number;
  repeat: number;
  /** N disjoint id ranges: one per repository, plain loop and (by count) graphile-worker worker. */
  ranges: { minValue: number; maxValue: number }[];
  /** Every bbm run, for the histories in the results file. */
  bbmRuns: { label: string; result: BbmRunResult }[];
  /** The worker's run-ahead claim waits so far (bbm_run_ahead_claim_wait_seconds); each bbm row reports its own part. */
  claimWaits?: () => Promise<HistogramTotals>;
}

const COPY_ARGS = { from: 'payload', to: 'digest', transform: 'md5' };
/** The tuned row's target: bbm's default (src/engine/batch-tuner.ts DEFAULT_TUNER_SETTINGS). */
export const TUNED_TARGET_JOB_MS = 500;

/**
 * Every contender backfilling the same table at one batch size, each from the same reset table
 * and each checked row by row afterwards: the plain loop (a), N plain loops, the engine alone,
 * graphile-worker with 1 and N workers, bbm with 1 repository (b) and with N (c), and with
 * `tuned` also bbm with the adaptive batch size on (starting at `batch`). Each figure is the
 * median of `repeat` runs.
 *
 * Every contender but the tuned one runs at the fixed batch size: bbm's migrations are defined
 * with `targetJobMs: 0`, and each run's job count is checked against ceil(ids / batch) per range
 * (bench/job-count.ts); a mismatch throws, so the bench exits non-zero rather than print a figure
 * measured at another batch size.
 */
export async function backfillFigures(ctx: BackfillContext, batch: number, options: { tuned?: boolean } = {}): Promise<ContenderResult[]> {
  const n = ctx.ranges.length;
  const all = [{ minValue: 1, maxValue: ctx.rows }];
  const out: ContenderResult[] = [];
  const figure = async (
    phase: string,
    run: (report: (detail: string) => void, suffix: string) => Promise<ContenderResult>,
    fixedJobs?: number,
  ): Promise<ContenderResult> => {
    const result = await medianOf(ctx.repeat, async (round) => {
      ctx.progress.update(`[batch ${batch}] resetting the table`, 'digest = NULL, VACUUM FULL, CHECKPOINT');
      await resetDataset(ctx.pool);
      const label = ctx.repeat > 1 ? `${phase} (round ${round}/${ctx.repeat})` : phase;
      const r = await run((detail) => ctx.progress.update(label, detail), ctx.repeat > 1 ? `-${round}` : '');
      const wrong = await wrongDigests(ctx.pool);
      if (wrong > 0) throw new Error(`${phase}: ${wrong} rows do not have digest = md5(payload) afterwards`);
      if (fixedJobs !== undefined) assertJobCount(label, r.jobs, fixedJobs);
      return r;
    });
    out.push(result);
    return result;
  };
  const loops = async (ranges: typeof all, report: (detail: string) => void, plain?: ContenderResult): Promise<ContenderResult> => {
    const stopCpu = ctx.startCpu();
    let cpu: CpuSeconds | undefined;
    const r = await plainLoops(
      ctx.databaseUrl,
      ranges,
      batch,
      (rows) => report(rate(rows, ctx.rows)),
      () => void (cpu = stopCpu()),
    );
    return { ...plainResult(batch, r, plain), cpu };
  };
  const graphile = async (workers: number, report: (detail: string) => void, plain: ContenderResult): Promise<ContenderResult> => {
    const stopCpu = ctx.startCpu();
    let cpu: CpuSeconds | undefined;
    const r = await graphileRun(
      ctx.databaseUrl,
      { rows: ctx.rows, batch, workers },
      (rows) => report(rate(rows, ctx.rows)),
      () => void (cpu = stopCpu()),
    );
    return { ...graphileResult(batch, r, plain), cpu };
  };
  const bbm = async (
    kind: 'sequential' | 'parallel' | 'tuned',
    report: (detail: string) => void,
    suffix: string,
    plain: ContenderResult,
  ): Promise<ContenderResult> => {
    const ranges = kind === 'parallel' ? ctx.ranges : all;
    const short = { sequential: 'seq', parallel: 'par', tuned: 'tuned' }[kind];
    const waitsBefore = await ctx.claimWaits?.();
    const { value, cpu } = await ctx.measured(() =>
      runBbm(
        { ...ctx, onProgress: (rows, jobs) => report(`${rate(rows, ctx.rows)}, ${jobs} jobs`) },
        {
          label: `bbm ${kind}, batch ${batch}`,
          knobs: ctx.knobs,
          migrations: ranges.map((r, i) => ({
            name: `${ctx.prefix}-${short}-${batch}-r${i}${suffix}`,
            work: 'copy_column',
            table: TABLE,
            column: 'id',
            batchSize: batch,
            targetJobMs: kind === 'tuned' ? TUNED_TARGET_JOB_MS : 0,
            ...r,
            args: COPY_ARGS,
          })),
        },
      ),
    );
    const what = kind === 'tuned' ? `tuned from ${batch}` : `batch ${batch}`;
    ctx.bbmRuns.push({ label: `bbm ${ranges.length} repositor${ranges.length > 1 ? 'ies' : 'y'}, ${what}${suffix}`, result: value });
    const waitsAfter = await ctx.claimWaits?.();
    const claims = waitsBefore && waitsAfter && runAheadClaims(waitsBefore, waitsAfter);
    return { ...bbmResult(batch, kind, value, plain), cpu, ...(claims ? { runAheadClaims: claims } : {}) };
  };

  const fixed = expectedJobs(all, batch);
  const fixedN = expectedJobs(ctx.ranges, batch);
  const plain = await figure(`[batch ${batch}] (a) plain loop`, (report) => loops(all, report), fixed);
  if (n > 1) await figure(`[batch ${batch}] ${n} plain loops in parallel`, (report) => loops(ctx.ranges, report, plain), fixedN);
  await figure(
    `[batch ${batch}] profile: engine alone`,
    async (report, suffix) => {
      const { value, cpu } = await ctx.measured(() =>
        engineLoop(
          ctx,
          {
            name: `${ctx.prefix}-engine-${batch}${suffix}`,
            work: 'copy_column',
            table: TABLE,
            column: 'id',
            batchSize: batch,
            targetJobMs: 0,
            minValue: 1,
            maxValue: ctx.rows,
            args: COPY_ARGS,
          },
          (rows) => report(rate(rows, ctx.rows)),
        ),
      );
      return { ...engineResult(batch, value, plain), cpu };
    },
    fixed,
  );
  await figure(`[batch ${batch}] graphile-worker, 1 worker`, (report) => graphile(1, report, plain), fixed);
  if (n > 1) await figure(`[batch ${batch}] graphile-worker, ${n} workers`, (report) => graphile(n, report, plain), fixed);
  await figure(`[batch ${batch}] (b) bbm, 1 repository`, (report, suffix) => bbm('sequential', report, suffix, plain), fixed);
  if (n > 1)
    await figure(`[batch ${batch}] (c) bbm, ${n} repositories`, (report, suffix) => bbm('parallel', report, suffix, plain), fixedN);
  // Not a fixed-size contender: shows what the adaptive batch size (bbm's default) makes of the same table.
  if (options.tuned)
    await figure(`[from batch ${batch}] bbm, tuned (target ${TUNED_TARGET_JOB_MS} ms)`, (report, suffix) =>
      bbm('tuned', report, suffix, plain),
    );
  return withLoopRatios(out);
}

function rate(rows: number, total: number): string {
  return `${rows.toLocaleString('en-US')}/${total.toLocaleString('en-US')} rows (${((rows / total) * 100).toFixed(0)}%)`;
}

/** A bbm row's run-ahead claims: the difference of the worker's claim-wait histogram over the row. */
function runAheadClaims(before: HistogramTotals, after: HistogramTotals): NonNullable<ContenderResult['runAheadClaims']> {
  const claims = after.count - before.count;
  return {
    claims,
    readyShare: claims > 0 ? (after.zero - before.zero) / claims : 0,
    meanWaitMs: claims > 0 ? ((after.sum - before.sum) * 1000) / claims : 0,
  };
}
