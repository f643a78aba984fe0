import http from 'node:http';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { BUILTIN_INDICATORS, type HealthReadings, type HealthThresholds } from './health/indicators';

/**
 * bbm's own Prometheus metrics, named after the anchor system's, labelled by migration and
 * repository. One registry per worker so tests can run several workers in one process.
 */
export class BbmMetrics {
  readonly registry = new Registry();
  readonly jobDuration = new Histogram({
    name: 'bbm_job_duration_seconds',
    help: 'Duration of one job (work + bookkeeping), by outcome',
    labelNames: ['migration', 'repository', 'outcome'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
    registers: [this.registry],
  });
  readonly jobBatchSize = new Gauge({
    name: 'bbm_job_batch_size',
    help: 'Batch size of the last job',
    labelNames: ['migration', 'repository'] as const,
    registers: [this.registry],
  });
  readonly migratedTuples = new Counter({
    name: 'bbm_migrated_tuples_total',
    help: 'Rows changed by finished jobs',
    labelNames: ['migration', 'repository'] as const,
    registers: [this.registry],
  });
  readonly jobs = new Counter({
    name: 'bbm_jobs_total',
    help: 'Jobs executed, by outcome',
    labelNames: ['migration', 'repository', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly failures = new Counter({
    name: 'bbm_failures_total',
    help: 'Failures, by error code',
    labelNames: ['repository', 'code'] as const,
    registers: [this.registry],
  });
  readonly runs = new Counter({
    name: 'bbm_runs_total',
    help: 'Rounds (take the lease, run jobs, release it) run',
    labelNames: ['repository'] as const,
    registers: [this.registry],
  });
  readonly sleepDuration = new Histogram({
    name: 'bbm_sleep_duration_seconds',
    help: 'Jittered pause between rounds',
    labelNames: ['repository'] as const,
    buckets: [0, 0.1, 0.25, 0.5, 1, 2, 5, 10],
    registers: [this.registry],
  });
  readonly progress = new Gauge({
    name: 'bbm_migration_progress_percent',
    help: 'Progress of a migration (capped at 99.9 until finished)',
    labelNames: ['migration', 'repository'] as const,
    registers: [this.registry],
  });
  readonly runAheads = new Counter({
    name: 'bbm_run_ahead_total',
    help: "Run-aheads (a job's successor worked ahead during its round trip), by how they ended: claimed, abandoned, failed, skipped, mismatched",
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  /**
   * How long each claiming executeJob waited for its run-ahead's work (0: done before the claim).
   * Mostly 0: the round trip through the workflow sets the pace. Mostly waits: the jobs' SQL does.
   */
  readonly runAheadClaimWait = new Histogram({
    name: 'bbm_run_ahead_claim_wait_seconds',
    help: "Time a claiming job attempt waited for its run-ahead's work to be done, in seconds (0: it was done before the claim)",
    buckets: [0, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5, 2],
    registers: [this.registry],
  });
  readonly queryDuration = new Histogram({
    name: 'bbm_query_duration_seconds',
    help: 'Duration of bbm bookkeeping activities (lease, find, release)',
    labelNames: ['operation'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
    registers: [this.registry],
  });
  readonly healthValue = new Gauge({
    name: 'bbm_health_indicator_value',
    help: 'Last reading of a health indicator in its unit (NaN: not measurable); table is empty for cluster-wide indicators',
    labelNames: ['indicator', 'unit', 'table'] as const,
    registers: [this.registry],
  });
  readonly healthThreshold = new Gauge({
    name: 'bbm_health_indicator_threshold',
    help: "Threshold of an enabled health indicator for a repository (its knobs), in the indicator's unit; repository is empty for a check of no repository",
    labelNames: ['repository', 'indicator', 'unit'] as const,
    registers: [this.registry],
  });
  readonly throttledSeconds = new Counter({
    name: 'bbm_throttled_seconds_total',
    help: 'Time repositories held their jobs back because a health indicator tripped, by indicator',
    labelNames: ['repository', 'indicator'] as const,
    registers: [this.registry],
  });

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'bbm_' });
  }

  /**
   * Publish one health check: the readings when `fresh` (a gauge value per indicator, all but the
   * cluster-wide ones labelled by table), and the repository's enabled thresholds every time, since
   * each repository has its own knobs (so they were overwritten by whichever checked last).
   */
  recordHealth(readings: HealthReadings, thresholds: HealthThresholds, repository = '', fresh = true): void {
    for (const r of readings.readings) {
      const table = CLUSTER_WIDE.has(r.indicator) ? '' : (readings.table ?? '');
      if (fresh) this.healthValue.set({ indicator: r.indicator, unit: r.unit, table }, r.value ?? NaN);
      const labels = { repository, indicator: r.indicator, unit: r.unit };
      const threshold = thresholds[r.indicator];
      if (typeof threshold === 'number') this.healthThreshold.set(labels, threshold);
      else this.healthThreshold.remove(labels);
    }
  }

  /** Count `seconds` of throttling of `repository` against each indicator that held it (each gets the full time). */
  recordThrottled(repository: string, indicators: readonly string[], seconds: number): void {
    if (!(seconds > 0)) return;
    for (const indicator of indicators) this.throttledSeconds.inc({ repository, indicator }, seconds);
  }
}

const CLUSTER_WIDE: ReadonlySet<string> = new Set(BUILTIN_INDICATORS.filter((i) => !i.tableScoped).map((i) => i.name));

export interface MetricsServer {
  port: number;
  close(): Promise<void>;
}

/**
 * Serve bbm's registry on /metrics, followed by the Temporal SDK's own metrics when the SDK
 * exports them on `sdkMetricsUrl`: one scrape target per worker.
 */
export async function serveMetrics(metrics: BbmMetrics, port: number, sdkMetricsUrl?: string, host = '0.0.0.0'): Promise<MetricsServer> {
  const server = http.createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end('try /metrics\n');
      return;
    }
    void (async () => {
      let body = await metrics.registry.metrics();
      if (sdkMetricsUrl) {
        try {
          body += '\n' + (await (await fetch(sdkMetricsUrl)).text());
        } catch {
          // The SDK exporter may not be up yet; bbm's own metrics are still worth serving.
        }
      }
      res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(body);
    })().catch((err: Error) => res.writeHead(500).end(err.message));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
