import type { BbmRunResult } from './bbm-run';
import type { CpuSeconds } from './cpu';
import type { EngineLoopResult } from './engine-loop';
import type { EnqueueResult } from './enqueue';
import type { GraphileResult } from './graphile';
import type { PlainLoopResult } from './plain-loop';
import type { SdkFloorResult } from './sdk-floor';
import type { Spread } from './repeat';

export type ContenderKind =
  | 'plain'
  | 'plain-parallel'
  | 'engine'
  | 'graphile'
  | 'graphile-parallel'
  | 'sequential'
  | 'parallel'
  /** bbm, 1 repository, with the adaptive batch size on (starting at `batch`): not a fixed-size contender. */
  | 'tuned';

/** One figure of the table: a contender at one batch size (the median run under --repeat). */
export interface ContenderResult {
  contender: ContenderKind;
  label: string;
  batch: number;
  /** Repositories, loops or graphile-worker workers running side by side. */
  repositories: number;
  rows: number;
  jobs: number;
  wallMs: number;
  rowsPerSecond: number;
  /** rows/s over the plain loop's at the same batch size. */
  ratio: number | null;
  /** rows/s over N plain loops' at the same batch size (contenders running N side by side only). */
  ratioToLoops: number | null;
  /** ms per job: in the work function, and everything else (bbm runs only). */
  workMsPerJob: number | null;
  overheadMsPerJob: number | null;
  largestHistory: number | null;
  runsPerRepository: number | null;
  /** bbm runs: the smallest and largest job (ids per job) the run made; equal for a fixed batch size but the last range. */
  jobSizes?: { min: number; max: number };
  /** CPU seconds by process group during the run. */
  cpu?: CpuSeconds;
  /**
   * bbm rows: the jobs claimed from a run-ahead, the share of them whose work was done before the
   * claim, and the mean time a claim waited for it (ms). Mostly ready: the round trip through the
   * workflow sets the pace; long waits: the jobs' SQL does.
   */
  runAheadClaims?: { claims: number; readyShare: number; meanWaitMs: number };
  /** Engine profile: mean ms per job in each call. */
  engine?: { renewMs: number; findMs: number; executeMs: number; statements: EngineLoopResult['statements'] };
  /** Present when the figure was run more than once (--repeat). */
  spread?: Spread;
}

export interface NoopResult {
  /** The same no-op migration through the engine alone (no Temporal): the SQL part of the overhead. */
  engineMsPerJob: number;
  /** Statements the engine sends per no-op job. */
  engineStatementsPerJob: number;
  jobs: number;
  wallMs: number;
  jobsPerSecond: number;
  overheadMsPerJob: number;
  largestHistory: number;
  cpu?: CpuSeconds;
  /** The Temporal SDK's own cost per local activity in this run (bench/sdk-floor.ts), or why it was not measured. */
  sdkFloor: SdkFloorResult | { failed: string };
}

export interface TargetResult {
  name: string;
  target: string;
  actual: string;
  pass: boolean;
  margin: string;
}

export interface BenchReport {
  startedAt: string;
  machine: Record<string, unknown>;
  options: Record<string, unknown>;
  contenders: ContenderResult[];
  noop: NoopResult;
  enqueue: EnqueueResult;
  worker: { peakRssMB: number; peakRssMBByPhase: Record<string, number> };
  largestHistory: { events: number; run: string };
  targets: TargetResult[];
}

const base = { ratioToLoops: null, largestHistory: null, runsPerRepository: null } as const;

export function plainResult(batch: number, r: PlainLoopResult, plain?: ContenderResult): ContenderResult {
  const rowsPerSecond = r.rows / (r.wallMs / 1000);
  return {
    ...base,
    contender: r.loops > 1 ? 'plain-parallel' : 'plain',
    label: r.loops > 1 ? `${r.loops} plain loops in parallel` : 'plain loop (a)',
    batch,
    repositories: r.loops,
    rows: r.rows,
    jobs: r.batches,
    wallMs: r.wallMs,
    rowsPerSecond,
    ratio: plain ? rowsPerSecond / plain.rowsPerSecond : 1,
    ratioToLoops: r.loops > 1 ? 1 : null,
    workMsPerJob: r.msPerBatch,
    overheadMsPerJob: 0,
  };
}

export function engineResult(batch: number, r: EngineLoopResult, plain: ContenderResult): ContenderResult {
  const rowsPerSecond = r.rows / (r.wallMs / 1000);
  return {
    ...base,
    contender: 'engine',
    label: 'profile: bbm engine alone, no Temporal',
    batch,
    repositories: 1,
    rows: r.rows,
    jobs: r.jobs,
    wallMs: r.wallMs,
    rowsPerSecond,
    ratio: rowsPerSecond / plain.rowsPerSecond,
    workMsPerJob: r.workMs,
    overheadMsPerJob: r.wallMs / Math.max(1, r.jobs) - r.workMs,
    engine: { renewMs: r.renewMs, findMs: r.findMs, executeMs: r.executeMs, statements: r.statements },
  };
}

export function graphileResult(batch: number, r: GraphileResult, plain: ContenderResult): ContenderResult {
  const rowsPerSecond = r.rows / (r.wallMs / 1000);
  return {
    ...base,
    contender: r.workers > 1 ? 'graphile-parallel' : 'graphile',
    label: `graphile-worker, ${r.workers} worker${r.workers > 1 ? 's' : ''}`,
    batch,
    repositories: r.workers,
    rows: r.rows,
    jobs: r.jobs,
    wallMs: r.wallMs,
    rowsPerSecond,
    ratio: rowsPerSecond / plain.rowsPerSecond,
    workMsPerJob: null,
    overheadMsPerJob: null,
  };
}

export function bbmResult(
  batch: number,
  contender: 'sequential' | 'parallel' | 'tuned',
  r: BbmRunResult,
  plain: ContenderResult,
): ContenderResult {
  const rowsPerSecond = r.rows / (r.wallMs / 1000);
  const labels = {
    sequential: 'bbm, 1 repository (b)',
    parallel: `bbm, ${r.repositories} repositories (c)`,
    tuned: `bbm, tuned (target ${r.targetJobMs} ms)`,
  };
  return {
    ...base,
    contender,
    label: labels[contender],
    batch,
    repositories: r.repositories,
    rows: r.rows,
    jobs: r.jobs,
    wallMs: r.wallMs,
    rowsPerSecond,
    ratio: rowsPerSecond / plain.rowsPerSecond,
    workMsPerJob: r.profile.workMsPerJob,
    overheadMsPerJob: r.profile.overheadMsPerJob,
    largestHistory: r.largestHistory,
    runsPerRepository: Math.max(...r.histories.map((h) => h.runs.length)),
    jobSizes: r.profile.jobSizes,
  };
}

/** Set ratioToLoops of every contender that ran N side by side, against N plain loops at its batch size. */
export function withLoopRatios(contenders: ContenderResult[]): ContenderResult[] {
  return contenders.map((c) => {
    if (c.repositories < 2) return c;
    const loops = contenders.find((l) => l.contender === 'plain-parallel' && l.batch === c.batch && l.repositories === c.repositories);
    return { ...c, ratioToLoops: loops ? c.rowsPerSecond / loops.rowsPerSecond : null };
  });
}
