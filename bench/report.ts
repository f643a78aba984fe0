import type { BbmRunResult } from './bbm-run';
import { formatCpu, type CpuSeconds } from './cpu';
import type { EngineLoopResult } from './engine-loop';
import type { EnqueueResult } from './enqueue';
import type { PlainLoopResult } from './plain-loop';

export interface ContenderResult {
  contender: 'plain' | 'engine' | 'sequential' | 'parallel';
  label: string;
  batch: number;
  repositories: number;
  rows: number;
  jobs: number;
  wallMs: number;
  rowsPerSecond: number;
  /** rows/s over the plain loop's at the same batch size. */
  ratio: number | null;
  /** ms per job: in the work function, and everything else (bbm runs only). */
  workMsPerJob: number | null;
  overheadMsPerJob: number | null;
  largestHistory: number | null;
  runsPerRepository: number | null;
  /** CPU seconds by process group during the run. */
  cpu?: CpuSeconds;
  /** Engine profile: mean ms per job in each call. */
  engine?: { renewMs: number; findMs: number; executeMs: number; statements: EngineLoopResult['statements'] };
}

export interface NoopResult {
  /** The same no-op migration through the engine alone (no Temporal): the SQL part of the overhead. */
  engineMsPerJob: number;
  jobs: number;
  wallMs: number;
  jobsPerSecond: number;
  overheadMsPerJob: number;
  largestHistory: number;
  cpu?: CpuSeconds;
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

export function plainResult(batch: number, r: PlainLoopResult): ContenderResult {
  return {
    contender: 'plain',
    label: 'plain loop (a)',
    batch,
    repositories: 1,
    rows: r.rows,
    jobs: r.batches,
    wallMs: r.wallMs,
    rowsPerSecond: r.rows / (r.wallMs / 1000),
    ratio: 1,
    workMsPerJob: r.msPerBatch,
    overheadMsPerJob: 0,
    largestHistory: null,
    runsPerRepository: null,
  };
}

export function engineResult(batch: number, r: EngineLoopResult, plain: ContenderResult): ContenderResult {
  const rowsPerSecond = r.rows / (r.wallMs / 1000);
  return {
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
    largestHistory: null,
    runsPerRepository: null,
    engine: { renewMs: r.renewMs, findMs: r.findMs, executeMs: r.executeMs, statements: r.statements },
  };
}

export function bbmResult(batch: number, contender: 'sequential' | 'parallel', r: BbmRunResult, plain: ContenderResult): ContenderResult {
  const rowsPerSecond = r.rows / (r.wallMs / 1000);
  return {
    contender,
    label: contender === 'sequential' ? 'bbm, 1 repository (b)' : `bbm, ${r.repositories} repositories (c)`,
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
  };
}

const SEQUENTIAL_TARGETS: Readonly<Record<number, number>> = { 1_000: 0.6, 10_000: 0.8 };
/** Cores used by processes outside the benchmark above which a run is flagged as disturbed. */
const OTHER_LOAD_WARNING = 0.25;
export const LIMITS = { noopMsPerJob: 10, rssMB: 400, historyEvents: 10_000, parallelRatio: 1.0 };

export function evaluateTargets(report: Omit<BenchReport, 'targets'>): TargetResult[] {
  const out: TargetResult[] = [];
  const atLeast = (name: string, actual: number, min: number): TargetResult => ({
    name,
    target: `>= ${min.toFixed(2)}x`,
    actual: `${actual.toFixed(2)}x`,
    pass: actual >= min,
    margin: `${actual - min >= 0 ? '+' : ''}${(actual - min).toFixed(2)}x (${signedPercent(actual / min - 1)})`,
  });
  const atMost = (name: string, actual: number, max: number, unit: string): TargetResult => ({
    name,
    target: `<= ${fmt(max)} ${unit}`,
    actual: `${fmt(actual)} ${unit}`,
    pass: actual <= max,
    margin:
      `${max - actual >= 0 ? '' : 'over by '}${fmt(Math.abs(max - actual))} ${unit} ${max - actual >= 0 ? 'to spare' : ''}(${signedPercent(1 - actual / max)})`.replace(
        '  ',
        ' ',
      ),
  });
  for (const c of report.contenders) {
    if (c.contender === 'sequential' && SEQUENTIAL_TARGETS[c.batch] !== undefined) {
      out.push(atLeast(`sequential bbm, batch ${c.batch}, vs plain loop`, c.ratio ?? 0, SEQUENTIAL_TARGETS[c.batch] as number));
    }
    if (c.contender === 'parallel' && c.repositories >= 2)
      out.push(atLeast(`bbm ${c.repositories} repositories, batch ${c.batch}, vs plain loop`, c.ratio ?? 0, LIMITS.parallelRatio));
  }
  out.push(atMost('no-op orchestration overhead per job', report.noop.overheadMsPerJob, LIMITS.noopMsPerJob, 'ms'));
  out.push(atMost('worker peak RSS', report.worker.peakRssMB, LIMITS.rssMB, 'MB'));
  out.push(atMost('largest workflow history (any run)', report.largestHistory.events, LIMITS.historyEvents, 'events'));
  return out;
}

function signedPercent(x: number): string {
  return `${x >= 0 ? '+' : ''}${(x * 100).toFixed(0)}%`;
}

export function fmt(n: number, digits = n >= 100 ? 0 : n >= 10 ? 1 : 2): string {
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function formatReport(report: BenchReport): string {
  const o = report.options;
  const lines: string[] = [];
  lines.push(
    `bbm benchmark: ${fmt(Number(o.rows))} rows, batch ${String(o.batches)}, ${String(o.repos)} repositories in parallel, knobs ${JSON.stringify(o.knobs)}${Number(o.repeat) > 1 ? `, fastest of ${String(o.repeat)} runs per contender` : ''}`,
  );
  if (o.temporal) lines.push(`temporal: ${String(o.temporal)}`);
  lines.push(
    `machine: ${String(report.machine.cpus)} CPUs (${String(report.machine.cpuModel)}), Node ${String(report.machine.node)}, ${String(report.machine.postgres)}`,
  );
  lines.push(
    `load average (1, 5, 15 min): ${String(report.machine.loadAverageAtStart)} at start, ${String(report.machine.loadAverage)} at the end (other work on the machine skews every number)`,
  );
  lines.push('');
  const header = ['batch', 'contender', 'rows/s', 'vs (a)', 'wall s', 'jobs', 'work ms/job', 'other ms/job', 'history'];
  const rows = report.contenders.map((c) => [
    String(c.batch),
    c.label,
    fmt(c.rowsPerSecond, 0),
    c.ratio === null ? '' : `${c.ratio.toFixed(2)}x`,
    (c.wallMs / 1000).toFixed(1),
    String(c.jobs),
    c.workMsPerJob === null ? '' : c.workMsPerJob.toFixed(1),
    c.contender === 'plain' ? '' : (c.overheadMsPerJob ?? 0).toFixed(1),
    c.largestHistory === null
      ? ''
      : `${c.largestHistory}${c.runsPerRepository && c.runsPerRepository > 1 ? ` (${c.runsPerRepository} runs)` : ''}`,
  ]);
  lines.push(...table([header, ...rows]));
  lines.push('');
  lines.push('CPU during each run, in cores (2 = both cores of this machine busy the whole run):');
  for (const c of report.contenders) if (c.cpu) lines.push(`  batch ${c.batch}, ${c.label}: ${formatCpu(c.cpu, c.wallMs)}`);
  if (report.noop.cpu) lines.push(`  no-op migration: ${formatCpu(report.noop.cpu, report.noop.wallMs)}`);
  lines.push('');
  for (const c of report.contenders) {
    if (c.engine) {
      lines.push(
        `  engine profile, batch ${c.batch}: renew ${c.engine.renewMs.toFixed(2)} + find ${c.engine.findMs.toFixed(2)} + execute ${c.engine.executeMs.toFixed(2)} ms/job, of which the UPDATE itself ${(c.workMsPerJob ?? 0).toFixed(2)} ms; ` +
          `${c.engine.statements.reduce((n, st) => n + st.perJob, 0).toFixed(0)} statements per job, the costliest:`,
      );
      for (const st of c.engine.statements.slice(0, 7))
        lines.push(`    ${st.msPerJob.toFixed(2).padStart(6)} ms/job  ${st.perJob.toFixed(1)}x  ${st.statement.slice(0, 90)}`);
    }
  }
  lines.push('');
  const n = report.noop;
  lines.push(
    `no-op migration: ${n.jobs} jobs in ${(n.wallMs / 1000).toFixed(1)} s = ${fmt(n.jobsPerSecond)} jobs/s for one repository -> ${n.overheadMsPerJob.toFixed(2)} ms orchestration per job ` +
      `(the engine's SQL alone: ${n.engineMsPerJob.toFixed(2)} ms/job; Temporal activities and workflow tasks: ${(n.overheadMsPerJob - n.engineMsPerJob).toFixed(2)} ms/job)`,
  );
  const e = report.enqueue;
  lines.push(
    `enqueuer: ${e.repositories} tiny repositories started in ${(e.startMs / 1000).toFixed(1)} s = ${fmt(e.startsPerSecond)} repositories/s (all finished after ${(e.completeMs / 1000).toFixed(1)} s = ${fmt(e.completedPerSecond)}/s); ${e.method}`,
  );
  const phases = Object.entries(report.worker.peakRssMBByPhase).map(([phase, mb]) => `${phase} ${fmt(mb, 0)} MB`);
  lines.push(`worker peak RSS: ${fmt(report.worker.peakRssMB)} MB (by phase: ${phases.join(', ')})`);
  lines.push(`largest workflow history: ${report.largestHistory.events} events (${report.largestHistory.run})`);
  const busy = report.contenders.filter((c) => c.cpu && c.cpu.other / (c.wallMs / 1000) > OTHER_LOAD_WARNING);
  if (busy.length > 0) {
    lines.push(
      `warning: other processes kept > ${OTHER_LOAD_WARNING} cores busy during ${busy.map((c) => `batch ${c.batch} ${c.label}`).join('; ')}: ` +
        'those rows (and the ratios built on them) are skewed; rerun on a quiet machine for exact ratios.',
    );
  }
  lines.push('');
  lines.push('targets:');
  lines.push(...table(report.targets.map((t) => [t.pass ? 'PASS' : 'MISS', t.name, t.actual, t.target, t.margin])).map((l) => `  ${l}`));
  return lines.join('\n');
}

function table(rows: string[][]): string[] {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) =>
    r
      .map((cell, i) => (i >= 2 && /^[\d.,+x-]/.test(cell) ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd(),
  );
}
