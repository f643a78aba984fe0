import { formatCpu } from './cpu';
import { formatCpuBudgets, reportCpuBudgets } from './cpu-budget';
import type { BenchReport, ContenderResult, NoopResult } from './results';
import { fmt, LIMITS, PARALLEL_VS_LOOPS } from './targets';

/** Cores used by processes outside the benchmark above which a run is flagged as disturbed. */
const OTHER_LOAD_WARNING = 0.25;

/** The text report `npm run bench` prints (the JSON file holds the same figures). */
export function formatReport(report: BenchReport): string {
  const o = report.options;
  const lines: string[] = [];
  const repeat = Number(o.repeat);
  lines.push(
    `bbm benchmark: ${fmt(Number(o.rows))} rows, batch ${String(o.batches)}, N = ${String(o.repos)} (repositories, plain loops, graphile-worker workers), knobs ${JSON.stringify(o.knobs)}${repeat > 1 ? `, median of ${repeat} runs per figure` : ''}`,
  );
  if (o.temporal) lines.push(`temporal: ${String(o.temporal)}`);
  lines.push(
    `machine: ${String(report.machine.cpus)} CPUs (${String(report.machine.cpuModel)}), Node ${String(report.machine.node)}, ${String(report.machine.postgres)}`,
  );
  lines.push(
    `load average (1, 5, 15 min): ${String(report.machine.loadAverageAtStart)} at start, ${String(report.machine.loadAverage)} at the end (other work on the machine skews every number)`,
  );
  lines.push('');
  lines.push(...contenderTable(report.contenders, repeat > 1));
  lines.push('');
  lines.push(...ratioTable(report.contenders, Number(o.repos)));
  lines.push('');
  lines.push(...perJobBreakdown(report));
  lines.push('');
  lines.push('CPU during each run, in cores (2 = both cores of this machine busy the whole run):');
  for (const c of report.contenders) if (c.cpu) lines.push(`  batch ${c.batch}, ${c.label}: ${formatCpu(c.cpu, c.wallMs)}`);
  if (report.noop.cpu) lines.push(`  no-op migration: ${formatCpu(report.noop.cpu, report.noop.wallMs)}`);
  const budgets = reportCpuBudgets(report);
  if (budgets.length > 0) lines.push('', ...formatCpuBudgets(budgets, Number(report.machine.cpus)));
  lines.push('');
  const n = report.noop;
  lines.push(
    `no-op migration: ${n.jobs} jobs in ${(n.wallMs / 1000).toFixed(1)} s = ${fmt(n.jobsPerSecond)} jobs/s for one repository -> ${n.overheadMsPerJob.toFixed(2)} ms orchestration per job`,
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
  lines.push('targets (issue 12):');
  lines.push(...table(report.targets.map((t) => [t.pass ? 'PASS' : 'MISS', t.name, t.actual, t.target, t.margin])).map((l) => `  ${l}`));
  const floor = report.noop.sdkFloor;
  if ('msPerActivity' in floor && floor.msPerActivity > LIMITS.noopMsPerJob)
    lines.push(
      `  (the no-op target, ${fmt(LIMITS.noopMsPerJob)} ms per job, is below what the Temporal SDK alone took per local activity in this run, ${floor.msPerActivity.toFixed(2)} ms: a bbm job is one local activity)`,
    );
  for (const b of budgets) {
    const min = PARALLEL_VS_LOOPS[b.batch];
    if (min !== undefined && b.floorCeiling !== undefined && b.floorCeiling < min)
      lines.push(
        `  (the ${b.repositories}-repository target at batch ${fmt(b.batch)}, ${min}x of ${b.repositories} loops, is above what this machine's cores allow a worker that costs only the SDK floor's CPU per job: ${b.floorCeiling.toFixed(2)}x)`,
      );
  }
  return lines.join('\n');
}

function contenderTable(contenders: ContenderResult[], withSpread: boolean): string[] {
  const header = [
    'batch',
    'contender',
    'rows/s',
    'vs (a)',
    'vs N loops',
    'wall s',
    'jobs',
    'ids/job',
    'work ms/job',
    'other ms/job',
    'history',
  ];
  if (withSpread) header.push('rows/s min-max');
  const rows = contenders.map((c) => {
    const row = [
      String(c.batch),
      c.label,
      fmt(c.rowsPerSecond, 0),
      ratio(c.ratio),
      ratio(c.ratioToLoops),
      (c.wallMs / 1000).toFixed(1),
      String(c.jobs),
      c.jobSizes ? sizes(c.jobSizes) : '',
      c.workMsPerJob === null ? '' : c.workMsPerJob.toFixed(1),
      c.overheadMsPerJob === null || c.contender.startsWith('plain') ? '' : c.overheadMsPerJob.toFixed(1),
      c.largestHistory === null
        ? ''
        : `${c.largestHistory}${c.runsPerRepository && c.runsPerRepository > 1 ? ` (${c.runsPerRepository} runs)` : ''}`,
    ];
    if (withSpread) row.push(c.spread ? `${fmt(c.spread.minRowsPerSecond, 0)}-${fmt(c.spread.maxRowsPerSecond, 0)}` : '');
    return row;
  });
  return table([header, ...rows]);
}

/** The issue's table: every contender against the plain loop, and the N-wide ones against N plain loops. */
function ratioTable(contenders: ContenderResult[], n: number): string[] {
  const columns: [ContenderResult['contender'], string][] = [
    ['plain', 'plain loop'],
    ['engine', 'engine alone, no Temporal'],
    ['graphile', 'graphile-worker, 1 worker'],
    ['sequential', 'bbm, 1 repository'],
    ['plain-parallel', `${n} plain loops`],
    ['graphile-parallel', `graphile-worker, ${n} workers`],
    ['parallel', `bbm, ${n} repositories`],
  ];
  const batches = [...new Set(contenders.map((c) => c.batch))];
  const present = columns.filter(([kind]) => contenders.some((c) => c.contender === kind));
  const rows = batches.map((batch) => [
    batch.toLocaleString('en-US'),
    ...present.map(([kind]) => {
      const c = contenders.find((x) => x.contender === kind && x.batch === batch);
      if (!c) return '';
      if (kind === 'plain') return `${fmt(c.rowsPerSecond / 1000, 0)}k rows/s = 1.00x`;
      return c.ratioToLoops !== null && kind !== 'plain-parallel'
        ? `${ratio(c.ratio)} (${ratio(c.ratioToLoops)} of ${n} loops)`
        : ratio(c.ratio);
    }),
  ]);
  return [
    'rows/s against the plain loop at the same batch size (and, for N side by side, against N plain loops):',
    ...table([['batch', ...present.map(([, h]) => h)], ...rows]).map((l) => `  ${l}`),
  ];
}

/**
 * Where one job's time goes, per batch size: the UPDATE, the engine's own SQL (statements and ms,
 * from the engine-alone profile), and Temporal (bbm's time per job beyond the engine's).
 */
function perJobBreakdown(report: BenchReport): string[] {
  const lines = ['per-job breakdown (ms per job):'];
  for (const engine of report.contenders.filter((c) => c.engine)) {
    const e = engine.engine as NonNullable<ContenderResult['engine']>;
    const statements = e.statements.reduce((sum, st) => sum + st.perJob, 0);
    const sqlMs = engine.overheadMsPerJob ?? 0;
    const plain = report.contenders.find((c) => c.contender === 'plain' && c.batch === engine.batch);
    const bbm = report.contenders.find((c) => c.contender === 'sequential' && c.batch === engine.batch);
    const temporalMs = bbm ? (bbm.overheadMsPerJob ?? 0) - sqlMs : undefined;
    const temporal =
      temporalMs === undefined
        ? 'Temporal not measured'
        : `Temporal ${temporalMs >= 0 ? `${temporalMs.toFixed(2)} ms/job` : 'not measurable in this run (the engine alone took longer per job than bbm: other load)'} (bbm 1 repository's ${(bbm?.overheadMsPerJob ?? 0).toFixed(2)} ms beside the UPDATE, minus the engine's: with run-ahead, what the next job's SQL left of the round trip through the workflow)`;
    lines.push(
      `  batch ${engine.batch}: the UPDATE ${(engine.workMsPerJob ?? 0).toFixed(2)} ms in the engine${bbm ? `, ${(bbm.workMsPerJob ?? 0).toFixed(2)} ms in bbm` : ''}${plain ? `, ${(plain.workMsPerJob ?? 0).toFixed(2)} ms in the plain loop` : ''}; ` +
        `engine SQL ${statements.toFixed(1)} statements, ${sqlMs.toFixed(2)} ms/job beside the UPDATE; ${temporal}`,
    );
    lines.push(
      `    engine calls: renew ${e.renewMs.toFixed(2)} + find ${e.findMs.toFixed(2)} + execute ${e.executeMs.toFixed(2)} ms/job; the costliest statements:`,
    );
    for (const st of e.statements.slice(0, 7))
      lines.push(`    ${st.msPerJob.toFixed(2).padStart(6)} ms/job  ${st.perJob.toFixed(1)}x  ${st.statement.slice(0, 90)}`);
    const claimed = report.contenders.filter((c) => c.batch === engine.batch && c.runAheadClaims);
    if (claimed.length > 0)
      lines.push(
        `    jobs claimed from a run-ahead (ready: the job's work was done before its attempt came for it, the round trip through the workflow was the longer; ` +
          `a wait: the attempt waited for the job's SQL; the mean counts ready claims as 0): ${claimed.map(claimsText).join('; ')}`,
      );
  }
  const n = report.noop;
  lines.push(
    `  no-op job (batch 1): ${n.overheadMsPerJob.toFixed(2)} ms = engine SQL ${n.engineStatementsPerJob.toFixed(1)} statements, ${n.engineMsPerJob.toFixed(2)} ms` +
      ` + Temporal activities and workflow tasks ${(n.overheadMsPerJob - n.engineMsPerJob).toFixed(2)} ms`,
  );
  lines.push(`  ${sdkFloorLine(n)}`);
  return lines;
}

/** One bbm row's run-ahead claims, for the per-job breakdown. */
function claimsText(c: ContenderResult): string {
  const r = c.runAheadClaims as NonNullable<ContenderResult['runAheadClaims']>;
  if (r.claims === 0) return `${c.label} none (run-ahead off, or none opened)`;
  return `${c.label} ${fmt(r.claims, 0)} claims, ${(r.readyShare * 100).toFixed(0)}% ready, mean wait ${r.meanWaitMs.toFixed(2)} ms`;
}

/** A run's job sizes: one number for a fixed size (its last range may be smaller), min-max when tuned. */
function sizes(s: { min: number; max: number }): string {
  return s.min === s.max ? fmt(s.max, 0) : `${fmt(s.min, 0)}-${fmt(s.max, 0)}`;
}

function ratio(r: number | null): string {
  return r === null ? '' : `${r.toFixed(2)}x`;
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

/**
 * The SDK floor against bbm's no-op job: wall and worker CPU per local activity with no bbm code,
 * beside bbm's Temporal share of a no-op job and its worker's CPU per job.
 */
function sdkFloorLine(n: NoopResult): string {
  const floor = n.sdkFloor;
  if (!('msPerActivity' in floor)) return `Temporal SDK floor: not measured (${floor.failed})`;
  const temporalMs = n.overheadMsPerJob - n.engineMsPerJob;
  const bbmCpu = n.cpu ? ` and ${((n.cpu.worker * 1000) / Math.max(1, n.jobs)).toFixed(2)} ms of worker CPU` : '';
  return (
    `Temporal SDK floor (a workflow running only local activities that return their input, no bbm code, in a worker of its own; ` +
    `like bbm's no-op figure, it includes its run's fixed costs, a workflow's start and end, but not bbm's lease, first find and release): ` +
    `${floor.msPerActivity.toFixed(2)} ms per local activity and ${floor.workerCpuMsPerActivity.toFixed(2)} ms of its worker's CPU, over ${floor.activities} activities; ` +
    `bbm's no-op job: Temporal ${temporalMs.toFixed(2)} ms (${(temporalMs - floor.msPerActivity).toFixed(2)} ms above the floor)${bbmCpu}`
  );
}
