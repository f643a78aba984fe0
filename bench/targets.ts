import type { BenchReport, ContenderResult, TargetResult } from './results';

/**
 * The targets of issue 12 ("the hot path at the floor"), checked on every run. They are goals, not
 * tests: a MISS is reported, never thrown. Ratios are rows/s over the named contender's at the same
 * batch size in the same run.
 */
const SEQUENTIAL_VS_LOOP: Readonly<Record<number, number>> = { 1_000: 0.85, 10_000: 0.95 };
export const PARALLEL_VS_LOOPS: Readonly<Record<number, number>> = { 1_000: 0.9, 10_000: 0.95 };
/** Batch sizes at which bbm must also be ahead of graphile-worker (one worker, and N workers). */
const AHEAD_OF_GRAPHILE = new Set([1_000]);
export const LIMITS = { noopMsPerJob: 1.5, noopEngineMsPerJob: 0.5, rssMB: 300, historyEvents: 10_000, enqueuerStartsPerSecond: 150 };

export function evaluateTargets(report: Omit<BenchReport, 'targets'>): TargetResult[] {
  const out: TargetResult[] = [];
  const find = (kind: ContenderResult['contender'], batch: number): ContenderResult | undefined =>
    report.contenders.find((c) => c.contender === kind && c.batch === batch);
  for (const c of report.contenders) {
    if (c.contender === 'sequential') {
      const min = SEQUENTIAL_VS_LOOP[c.batch];
      if (min !== undefined) out.push(atLeast(`bbm 1 repository, batch ${c.batch}, vs plain loop`, c.ratio ?? 0, min));
      const g = find('graphile', c.batch);
      if (g && AHEAD_OF_GRAPHILE.has(c.batch))
        out.push(atLeast(`bbm 1 repository, batch ${c.batch}, vs graphile-worker 1 worker`, c.rowsPerSecond / g.rowsPerSecond, 1));
    }
    if (c.contender === 'parallel' && c.repositories >= 2) {
      const min = PARALLEL_VS_LOOPS[c.batch];
      if (min !== undefined && c.ratioToLoops !== null)
        out.push(atLeast(`bbm ${c.repositories} repositories, batch ${c.batch}, vs ${c.repositories} plain loops`, c.ratioToLoops, min));
      const g = find('graphile-parallel', c.batch);
      if (g && AHEAD_OF_GRAPHILE.has(c.batch))
        out.push(
          atLeast(
            `bbm ${c.repositories} repositories, batch ${c.batch}, vs graphile-worker ${g.repositories} workers`,
            c.rowsPerSecond / g.rowsPerSecond,
            1,
          ),
        );
    }
  }
  out.push(atMost('no-op orchestration overhead per job', report.noop.overheadMsPerJob, LIMITS.noopMsPerJob, 'ms'));
  out.push(atMost("no-op job, the engine's SQL alone", report.noop.engineMsPerJob, LIMITS.noopEngineMsPerJob, 'ms'));
  out.push(atMost('worker peak RSS', report.worker.peakRssMB, LIMITS.rssMB, 'MB'));
  out.push(atLeastRate('enqueuer starts', report.enqueue.startsPerSecond, LIMITS.enqueuerStartsPerSecond));
  out.push(atMost('largest workflow history (any run)', report.largestHistory.events, LIMITS.historyEvents, 'events'));
  return out;
}

function atLeast(name: string, actual: number, min: number): TargetResult {
  return {
    name,
    target: `>= ${min.toFixed(2)}x`,
    actual: `${actual.toFixed(2)}x`,
    pass: actual >= min,
    margin: `${actual - min >= 0 ? '+' : ''}${(actual - min).toFixed(2)}x (${signedPercent(actual / min - 1)})`,
  };
}

function atLeastRate(name: string, actual: number, min: number): TargetResult {
  const ok = Number.isFinite(actual) && actual >= min;
  return {
    name,
    target: `>= ${fmt(min)}/s`,
    actual: `${fmt(actual)}/s`,
    pass: ok,
    margin: Number.isFinite(actual) ? signedPercent(actual / min - 1) : 'not measured',
  };
}

function atMost(name: string, actual: number, max: number, unit: string): TargetResult {
  const spare = max - actual;
  return {
    name,
    target: `<= ${fmt(max)} ${unit}`,
    actual: `${fmt(actual)} ${unit}`,
    pass: actual <= max,
    margin:
      spare >= 0
        ? `${fmt(spare)} ${unit} to spare (${signedPercent(1 - actual / max)})`
        : `over by ${fmt(-spare)} ${unit} (${((actual / max - 1) * 100).toFixed(0)}% over)`,
  };
}

function signedPercent(x: number): string {
  return `${x >= 0 ? '+' : ''}${(x * 100).toFixed(0)}%`;
}

/** A number for the report: thousands separated, fewer decimals the larger it is. */
export function fmt(n: number, digits = n >= 100 ? 0 : n >= 10 ? 1 : 2): string {
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}
