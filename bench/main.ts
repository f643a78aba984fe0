/**
 * `npm run bench`: bbm against the plain SQL loop it replaces and against graphile-worker (the
 * Postgres job queue a Node user would pick instead), on one machine in one run. N (--repos) is the
 * width of the parallel figures: N bbm repositories, N plain loops, N graphile-worker workers.
 *
 *   npm run bench                                   2,000,000 rows, batches 1000 and 10000, N = 2
 *   npm run bench -- --quick                        smoke run (20,000 rows, batch 1000, small no-op and enqueuer phases)
 *   npm run bench -- --repeat 5                     every figure 5 times: the median, with min and max
 *   npm run bench -- --rows 200000 --batch 1000 --repos 4
 *   npm run bench -- --cluster                      against a 3-node Temporal cluster on Postgres (--cluster 5: 5 nodes)
 *
 * Starts its own Postgres and Temporal dev server (unless DATABASE_URL / TEMPORAL_ADDRESS are
 * set: then it works in that database, creating bench_* tables it drops at the end and bench-*
 * migrations it leaves), one bbm worker as it ships (`bbm worker` of the compiled package, built by
 * bench/production-build.ts) in a child process (so its memory is its own), prints a
 * table and the targets, and writes the same to bench/results/latest.json.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client as PgClient, type Pool } from 'pg';
import { resolveConfig, withTemporalAddress } from '../src/config';
import { createPool } from '../src/db/pool';
import { migrateSchema } from '../src/db/schema';
import { startClusterStack } from '../src/dev/cluster-stack';
import { privateHostsSupported } from '../src/dev/frontends-name';
import { startDevStack } from '../src/dev/stack';
import { BUILTIN_WORK } from '../src/engine/builtin-work';
import { WorkRegistry } from '../src/engine/registry';
import type { Knobs } from '../src/knobs';
import { createLogger } from '../src/logger';
import { connectClient } from '../src/temporal/connection';
import { runBbm, splitRange, type BbmRunResult } from './bbm-run';
import { backfillFigures, type BackfillContext } from './backfill';
import { createDataset, createIdTable, dropBenchTables, TABLE } from './dataset';
import { CpuMeter, type CpuSeconds } from './cpu';
import { reportCpuBudgets } from './cpu-budget';
import { engineLoop } from './engine-loop';
import { enqueueThroughput, formatEnqueuerOnly, type EnqueueResult } from './enqueue';
import { parseBenchOptions } from './options';
import { buildProduction } from './production-build';
import { formatHealthCost, healthCheckCost } from './health-cost';
import { assertJobCount } from './job-count';
import { ProgressLine } from './progress';
import { formatReport } from './report';
import type { BenchReport, ContenderResult } from './results';
import { evaluateTargets } from './targets';
import { measureSdkFloor } from './sdk-floor';
import { deployedProcess, startBenchWorker } from './worker-process';

const BENCH_DB = 'bbm_bench';
/** Set when SIGINT or SIGTERM arrived: the bench stops its worker and services and exits 130. */
let interrupted = false;
const MB = 1024 * 1024;
const NOOP_TABLE = 'bench_noop';
const TINY_TABLE = 'bench_tiny';

async function main(): Promise<void> {
  const options = parseBenchOptions(process.argv.slice(2));
  const progress = new ProgressLine();
  const config = resolveConfig(process.env, { logLevel: process.env.BBM_LOG_LEVEL ?? 'warn' });
  const logger = createLogger({ level: config.logLevel, pretty: false, destination: process.stderr });
  const startedAt = new Date().toISOString();
  const loadAtStart = os.loadavg().map((l) => Number(l.toFixed(2)));
  process.stderr.write(`load average (1, 5, 15 min) at start: ${loadAtStart.join(', ')}\n`);
  const knobs: Partial<Knobs> = { minDelayMs: 0, maxDelayMs: 0, maxJobPerBatch: options.jobsPerBatch };

  progress.update('starting services');
  const clusterNodes = options.cluster === true ? 3 : options.cluster;
  const clusterStack = clusterNodes
    ? await startClusterStack({ config, logger, ephemeral: true, nodes: clusterNodes, ui: false })
    : undefined;
  const stack = clusterStack ?? (await startDevStack({ config, logger, ephemeral: true, ui: false }));
  const temporalPids = clusterStack?.cluster.nodes.map((n) => n.process?.child.pid ?? -1);
  const cleanups: (() => Promise<unknown>)[] = [() => stack.stop()];
  // One clean-up, whoever asks first: the signal handler and the finally below share it, so
  // neither exits the process while the other is still stopping the services.
  let cleaning: Promise<void> | undefined;
  const cleanUp = (): Promise<void> => (cleaning ??= runCleanups(cleanups));
  const onSignal = (signal: NodeJS.Signals): void => {
    // A terminal's Ctrl-C reaches the whole process group and tsx relays it once more: a repeat
    // must not end the process (Node's default) before the clean-up has stopped everything.
    if (interrupted) return;
    interrupted = true;
    progress.clear();
    process.stderr.write(`\n${signal}: stopping the bench's worker and services\n`);
    void cleanUp().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const databaseUrl = stack.adminUrl ? await freshDatabase(stack.adminUrl, BENCH_DB) : stack.databaseUrl;
    const pool = createPool({ url: databaseUrl, max: 4, applicationName: 'bbm-bench' });
    cleanups.unshift(() => pool.end());
    await migrateSchema(pool);
    const registry = new WorkRegistry([...BUILTIN_WORK]);
    const prefix = `bench-${randomBytes(3).toString('hex')}`;
    const taskQueue = `bbm-bench-${randomBytes(3).toString('hex')}`;

    // The worker runs as it ships: the compiled package with its prebuilt workflow bundle.
    progress.update('building bbm', 'scripts/build.js');
    const buildDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bbm-bench-'));
    cleanups.push(async () => fs.rmSync(buildDir, { recursive: true, force: true }));
    const bbm = await buildProduction(buildDir);
    const clientConfig = withTemporalAddress(config, stack.temporalAddress);
    // On a cluster the worker reaches every frontend through one name, as in production (frontends-name.ts).
    const frontends = clusterStack && privateHostsSupported() ? clusterStack.cluster.frontendsName : undefined;
    const worker = await startBenchWorker(
      bbm,
      {
        ...process.env,
        DATABASE_URL: databaseUrl,
        TEMPORAL_ADDRESS: frontends?.address ?? clientConfig.temporal.address,
        BBM_TASK_QUEUE: taskQueue,
        BBM_LOG_LEVEL: process.env.BBM_LOG_LEVEL ?? 'warn',
      },
      frontends?.wrap,
    );
    cleanups.unshift(() => worker.stop());
    const cpu = new CpuMeter({
      postgresPort: portOf(databaseUrl),
      temporalPort: Number(stack.temporalAddress.split(':').pop()),
      temporalPids,
      workerPid: worker.pid,
    });
    const measured = async <T>(fn: () => Promise<T>): Promise<{ value: T; cpu: CpuSeconds }> => {
      const stop = cpu.start();
      const value = await fn();
      return { value, cpu: stop() };
    };
    const client = await connectClient(clientConfig);
    cleanups.unshift(() => client.connection.close());
    const ctx = { pool, client, registry, taskQueue };

    progress.update('generating data', `${options.rows.toLocaleString('en-US')} rows`);
    if (!options.only) await createDataset(pool, options.rows);
    await createIdTable(pool, NOOP_TABLE, options.noopJobs);
    await createIdTable(pool, TINY_TABLE, 1);

    // Warm the worker up (JIT, connections, sticky cache) so the first measured run is not penalised.
    await runBbm(
      { ...ctx, onProgress: () => undefined },
      {
        label: 'warm-up',
        knobs,
        migrations: [
          {
            name: `${prefix}-warmup`,
            work: 'noop',
            table: NOOP_TABLE,
            column: 'id',
            batchSize: 1,
            targetJobMs: 0,
            maxValue: Math.min(50, options.noopJobs),
          },
        ],
      },
    );

    const phaseQ = `[enqueuer] ${options.tinyRepos} tiny repositories`;
    const enqueuerPhase = async (): Promise<EnqueueResult> => {
      progress.update(phaseQ, 'defining migrations');
      // A failure here must not throw away the numbers measured so far.
      return enqueueThroughput(
        { ...ctx, onProgress: (started, finished) => progress.update(phaseQ, `${started} started, ${finished} finished`) },
        { count: options.tinyRepos, table: TINY_TABLE, prefix, knobs },
      ).catch((err: Error): EnqueueResult => ({
        method: `failed: ${err.message}`,
        repositories: options.tinyRepos,
        startMs: NaN,
        startsPerSecond: NaN,
        completeMs: NaN,
        completedPerSecond: NaN,
      }));
    };
    if (options.only === 'enqueuer') {
      worker.phasePeakRss(); // the warm-up's peak is not this phase's
      const enqueue = await enqueuerPhase();
      const phasePeakMB = worker.phasePeakRss() / MB;
      progress.update('stopping the worker');
      await worker.stop();
      progress.clear();
      process.stdout.write(`${formatEnqueuerOnly(enqueue, phasePeakMB, worker.peakRss() / MB, loadAtStart)}\n`);
      await dropBenchTables(pool, [TABLE, NOOP_TABLE, TINY_TABLE]);
      return;
    }

    const contenders: ContenderResult[] = [];
    const bbmRuns: { label: string; result: BbmRunResult }[] = [];
    const ranges = splitRange(options.rows, options.repos);
    const backfill: BackfillContext = {
      ...ctx,
      databaseUrl,
      progress,
      measured,
      startCpu: () => cpu.start(),
      prefix,
      knobs,
      rows: options.rows,
      repeat: options.repeat,
      ranges,
      bbmRuns,
      claimWaits: () => worker.histogram('bbm_run_ahead_claim_wait_seconds'),
    };
    // One tuned row (bbm's default, the adaptive batch size), from the first batch size.
    for (const [i, batch] of options.batch.entries()) contenders.push(...(await backfillFigures(backfill, batch, { tuned: i === 0 })));

    const rssPhases: Record<string, number> = { 'warm-up and backfill runs': worker.phasePeakRss() / MB };
    // Whether the bbm rows ran their jobs ahead (src/engine/run-ahead.ts): the warm-up's and the backfills' run-aheads.
    const runAheads = await worker.counter('bbm_run_ahead_total', 'outcome').catch(() => ({}));
    // A bbm row that stood still may have been held by the health throttle (an autovacuum of the table, say).
    const throttled = await worker.counter('bbm_throttled_seconds_total', 'indicator').catch(() => ({}));
    const phaseNoop = '[no-op] orchestration overhead';
    const { value: noopRun, cpu: noopCpu } = await measured(() =>
      runBbm(
        { ...ctx, onProgress: (_rows, jobs) => progress.update(phaseNoop, `${jobs}/${options.noopJobs} jobs`) },
        {
          label: phaseNoop,
          knobs,
          migrations: [{ name: `${prefix}-noop`, work: 'noop', table: NOOP_TABLE, column: 'id', batchSize: 1, targetJobMs: 0 }],
        },
      ),
    );
    assertJobCount(phaseNoop, noopRun.jobs, options.noopJobs);
    bbmRuns.push({ label: 'no-op', result: noopRun });
    progress.update(phaseNoop, 'the same through the engine alone');
    const noopEngine = await engineLoop(
      { pool, registry },
      { name: `${prefix}-noop-engine`, work: 'noop', table: NOOP_TABLE, column: 'id', batchSize: 1, targetJobMs: 0 },
      () => undefined,
    );
    assertJobCount(`${phaseNoop}, engine alone`, noopEngine.jobs, options.noopJobs);
    rssPhases['no-op run'] = worker.phasePeakRss() / MB;
    progress.update(phaseNoop, 'the Temporal SDK floor: a workflow running only local activities, in a worker of its own');
    const deployed = deployedProcess(process.env);
    const sdkFloor = await measureSdkFloor(client, {
      address: stack.temporalAddress,
      namespace: clientConfig.temporal.namespace,
      activities: options.noopJobs,
      processArgs: deployed.args,
      processEnv: deployed.env,
    }).catch((err: Error): { failed: string } => ({ failed: err.message }));
    const healthCost = await healthCheckCost(
      { ...ctx, onProgress: () => undefined },
      { prefix, table: NOOP_TABLE, knobs, onPhase: (label) => progress.update(label, `${options.noopJobs} no-op jobs`) },
    ).catch((err: Error) => `failed: ${err.message}`);

    const enqueue = await enqueuerPhase();
    progress.update('stopping the worker');
    await worker.stop();
    rssPhases[`${options.tinyRepos} tiny repositories at once`] = worker.phasePeakRss() / MB;
    progress.clear();

    const largest = [
      ...bbmRuns.flatMap((r) => r.result.histories.map((h) => ({ label: r.label, h }))),
      ...(enqueue.histories ? [{ label: 'enqueuer', h: enqueue.histories.enqueuer }] : []),
    ].sort((x, y) => y.h.largestRun - x.h.largestRun)[0];
    const partial: Omit<BenchReport, 'targets'> = {
      startedAt,
      machine: { ...(await machineInfo(pool)), loadAverageAtStart: loadAtStart },
      options: {
        rows: options.rows,
        batches: options.batch.join(','),
        repos: ranges.length,
        repeat: options.repeat,
        quick: options.quick,
        noopJobs: options.noopJobs,
        tinyRepos: options.tinyRepos,
        knobs,
        temporal: clusterNodes
          ? `${clusterNodes}-node cluster on PostgreSQL (worker on ${frontends ? 'every frontend' : "node 1's frontend"})`
          : 'dev server (SQLite in memory)',
      },
      contenders,
      noop: {
        engineMsPerJob: noopEngine.wallMs / Math.max(1, noopEngine.jobs),
        engineStatementsPerJob: noopEngine.statements.reduce((sum, st) => sum + st.perJob, 0),
        jobs: noopRun.jobs,
        wallMs: noopRun.wallMs,
        jobsPerSecond: noopRun.jobs / (noopRun.wallMs / 1000),
        overheadMsPerJob: noopRun.wallMs / Math.max(1, noopRun.jobs),
        largestHistory: noopRun.largestHistory,
        cpu: noopCpu,
        sdkFloor,
      },
      enqueue,
      worker: { peakRssMB: worker.peakRss() / MB, peakRssMBByPhase: rssPhases },
      largestHistory: largest
        ? { events: largest.h.largestRun, run: `${largest.label}, ${largest.h.workflowId}, ${largest.h.runs.length} run(s)` }
        : { events: 0, run: 'none' },
    };
    const report: BenchReport = { ...partial, targets: evaluateTargets(partial) };
    fs.mkdirSync(path.dirname(options.output), { recursive: true });
    fs.writeFileSync(
      options.output,
      `${JSON.stringify({ ...report, cpuBudgets: reportCpuBudgets(report), healthCheckCost: healthCost, histories: bbmRuns.map((r) => ({ label: r.label, workflows: r.result.histories })) }, null, 2)}\n`,
    );
    const healthLine = typeof healthCost === 'string' ? `health checks: ${healthCost}` : formatHealthCost(healthCost);
    const outcomes = Object.entries(runAheads).map(([outcome, n]) => `${outcome} ${n}`);
    const held = Object.entries(throttled).map(([indicator, s]) => `${indicator} ${s.toFixed(1)} s`);
    const runAheadLine =
      `run-ahead outcomes over the warm-up and backfill runs (bbm_run_ahead_total): ${outcomes.length ? outcomes.join(', ') : 'none'}\n` +
      `time the health throttle held bbm's repositories in those runs (bbm_throttled_seconds_total): ${held.length ? held.join(', ') : 'none'}`;
    process.stdout.write(
      `${formatReport(report)}\n${healthLine}\n${runAheadLine}\n\nresults written to ${path.relative(process.cwd(), options.output)}\n`,
    );
    await dropBenchTables(pool, [TABLE, NOOP_TABLE, TINY_TABLE]);
  } finally {
    progress.clear();
    await cleanUp();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

function portOf(url: string): number | undefined {
  const port = new URL(url).port;
  return port ? Number(port) : undefined;
}

async function freshDatabase(adminUrl: string, name: string): Promise<string> {
  const admin = new PgClient({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  return u.toString();
}

async function machineInfo(pool: Pool): Promise<Record<string, unknown>> {
  const { rows } = await pool.query(
    "SELECT split_part(version(), ' on ', 1) AS v, current_setting('shared_buffers') AS sb, current_setting('fsync') AS fsync, current_setting('synchronous_commit') AS sc",
  );
  return {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryMB: Math.round(os.totalmem() / 1024 / 1024),
    loadAverage: os.loadavg().map((l) => Number(l.toFixed(2))),
    node: process.version,
    postgres: `${String(rows[0].v)} (shared_buffers ${String(rows[0].sb)}, fsync ${String(rows[0].fsync)}, synchronous_commit ${String(rows[0].sc)})`,
  };
}

async function runCleanups(cleanups: (() => Promise<unknown>)[]): Promise<void> {
  for (const c of cleanups.splice(0)) await c().catch(() => undefined);
}

main().then(
  () => process.exit(interrupted ? 130 : 0),
  (err) => {
    // After a signal, what failed is the work the clean-up stopped under it: not a bench failure.
    if (!interrupted) process.stderr.write(`\nbench failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(interrupted ? 130 : 1);
  },
);
