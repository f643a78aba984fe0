import type { Knobs } from '../src/knobs';
import { DEFAULT_KNOBS } from '../src/knobs';
import { runBbm, type BbmRunDeps, type BbmRunResult } from './bbm-run';

/** What health checking before jobs costs per job (issue 11: at most 1 ms at the default interval). */
export interface HealthCostResult {
  /** healthCheckIntervalMs of the runs with checks on (the default). */
  intervalMs: number;
  jobsPerRun: number;
  /** Mean wall time per job of the runs with health checks on, and off (`healthChecks: false`). */
  onMsPerJob: number;
  offMsPerJob: number;
  /** on - off: the measured cost per job, within the machine's noise (can come out below 0). */
  deltaMsPerJob: number;
  /** checkHealth activities the runs with checks on made per job (local-activity markers on minus off). */
  checksPerJob: number;
}

/**
 * The same no-op migration (one id per job) with health checks off and on, in the order
 * off, on, on, off so that a machine getting slower or faster during the runs hits both sides
 * alike; reports the wall time per job of each side and the number of checks per job.
 */
export async function healthCheckCost(
  deps: BbmRunDeps,
  spec: { prefix: string; table: string; knobs: Partial<Knobs>; onPhase: (label: string) => void },
): Promise<HealthCostResult> {
  const sides: Array<[string, boolean]> = [
    ['off', false],
    ['on', true],
    ['on', true],
    ['off', false],
  ];
  const results: Record<string, BbmRunResult[]> = { on: [], off: [] };
  for (const [i, [label, healthChecks]] of sides.entries()) {
    const phase = `[health] checks ${label} (${i + 1}/${sides.length})`;
    spec.onPhase(phase);
    results[label]?.push(
      await runBbm(deps, {
        label: phase,
        knobs: { ...spec.knobs, healthChecks },
        migrations: [
          { name: `${spec.prefix}-health-${label}-${i}`, work: 'noop', table: spec.table, column: 'id', batchSize: 1, targetJobMs: 0 },
        ],
      }),
    );
  }
  const msPerJob = (runs: BbmRunResult[]): number => runs.reduce((s, r) => s + r.wallMs / Math.max(1, r.jobs), 0) / runs.length;
  // Local-activity markers; a run with checks on also records one marker for the patch (health-throttle).
  const markers = (runs: BbmRunResult[]): number =>
    runs.reduce((s, r) => s + r.histories.reduce((h, w) => h + w.runs.reduce((m, x) => m + x.markers, 0), 0), 0);
  const runCount = (runs: BbmRunResult[]): number => runs.reduce((s, r) => s + r.histories.reduce((h, w) => h + w.runs.length, 0), 0);
  const on = results.on ?? [];
  const off = results.off ?? [];
  const jobs = on.reduce((s, r) => s + r.jobs, 0);
  const checks = markers(on) - runCount(on) - markers(off);
  return {
    intervalMs: spec.knobs.healthCheckIntervalMs ?? DEFAULT_KNOBS.healthCheckIntervalMs,
    jobsPerRun: Math.round(jobs / Math.max(1, on.length)),
    onMsPerJob: msPerJob(on),
    offMsPerJob: msPerJob(off),
    deltaMsPerJob: msPerJob(on) - msPerJob(off),
    checksPerJob: checks / Math.max(1, jobs),
  };
}

/** One line for the bench's report. */
export function formatHealthCost(r: HealthCostResult): string {
  const every = r.checksPerJob > 0 ? `one check per ${(1 / r.checksPerJob).toFixed(0)} jobs` : 'no check';
  return (
    `health checks (healthCheckIntervalMs ${r.intervalMs}): ${r.onMsPerJob.toFixed(2)} ms/job on vs ${r.offMsPerJob.toFixed(2)} ms/job off ` +
    `= ${r.deltaMsPerJob >= 0 ? '+' : ''}${r.deltaMsPerJob.toFixed(3)} ms per job (${every}, ${r.jobsPerRun} no-op jobs per run; target <= 1 ms)`
  );
}
