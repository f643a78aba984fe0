import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';

/** What one `npm run bench` measures; see parseBenchOptions for the defaults. */
export interface BenchOptions {
  rows: number;
  batch: number[];
  /** N: repositories of the N-repository figure, and the N of "N plain loops" and "graphile-worker, N workers". */
  repos: number;
  noopJobs: number;
  tinyRepos: number;
  jobsPerBatch: number;
  /** Runs per figure; the report keeps the median run and the spread. */
  repeat: number;
  output: string;
  quick: boolean;
  /** Run Temporal as a local cluster of this many nodes on Postgres instead of the dev server (`--cluster` alone: 3). */
  cluster?: number | true;
  /** Run one phase alone (after the warm-up): `enqueuer` starts --tiny-repos repositories and reports starts/s, RSS and histories. */
  only?: 'enqueuer';
}

/** `--quick`: a smoke run (about a minute on a busy 2-core machine once the services are up); no figure from it means much. */
export const QUICK = { rows: 20_000, batch: [1_000], noopJobs: 100, tinyRepos: 20 } as const;

function positiveInt(max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1 || n > max) throw new InvalidArgumentError(`expected an integer from 1 to ${max}`);
    return n;
  };
}

function batchList(value: string): number[] {
  const list = value.split(',').map((v) => Number(v.trim()));
  if (list.length === 0 || list.some((n) => !Number.isInteger(n) || n < 1 || n > 1_000_000))
    throw new InvalidArgumentError('expected a comma list of batch sizes from 1 to 1000000, e.g. 1000,10000');
  return list;
}

/**
 * Parse the bench's command line (`npm run bench -- <flags>`). `--quick` changes the defaults of
 * --rows, --batch, --noop-jobs and --tiny-repos to the QUICK sizes; a flag given explicitly wins.
 * Exits the process with a usage message on an invalid flag (commander).
 */
export function parseBenchOptions(argv: string[]): BenchOptions {
  const program = new Command('npm run bench --')
    .description('Benchmark bbm against a plain UPDATE loop and graphile-worker (see bench/main.ts).')
    .option('--rows <n>', 'rows in the benchmark table (default 2000000)', positiveInt(100_000_000))
    .option('--batch <list>', 'batch sizes, comma separated (default 1000,10000)', batchList)
    .option('--repos <n>', 'N: repositories in parallel, plain loops in parallel, graphile-worker workers', positiveInt(64), 2)
    .option('--noop-jobs <n>', 'jobs of the no-op migration that measures orchestration overhead (default 1000)', positiveInt(100_000))
    .option('--tiny-repos <n>', 'tiny repositories started to measure enqueuer throughput (default 1000)', positiveInt(100_000))
    .option('--jobs-per-batch <n>', 'maxJobPerBatch knob of the bbm runs (jobs per lease)', positiveInt(1_000), 100)
    .option('--repeat <n>', 'run each figure n times and report the median run, with the min and max', positiveInt(25), 1)
    .option(
      '--quick',
      `smoke run: ${QUICK.rows} rows, batch ${QUICK.batch.join(',')}, ${QUICK.noopJobs} no-op jobs, ${QUICK.tinyRepos} tiny repositories`,
      false,
    )
    .addOption(
      new Option(
        '--only <phase>',
        'run one phase alone: enqueuer (--tiny-repos repositories at once: starts/s, worker RSS, histories)',
      ).choices(['enqueuer']),
    )
    .option('--output <file>', 'JSON results file', path.join(__dirname, 'results', 'latest.json'))
    .option(
      '--cluster [nodes]',
      'run against a local Temporal cluster of N nodes (default 3) on PostgreSQL persistence and visibility instead of the dev server',
      positiveInt(9),
    )
    .showHelpAfterError()
    .parse(argv, { from: 'user' });
  const o = program.opts<Partial<BenchOptions> & { repos: number; jobsPerBatch: number; repeat: number; output: string; quick: boolean }>();
  const sizes = o.quick ? QUICK : { rows: 2_000_000, batch: [1_000, 10_000], noopJobs: 1_000, tinyRepos: 1_000 };
  return {
    ...o,
    rows: o.rows ?? sizes.rows,
    batch: o.batch ?? [...sizes.batch],
    noopJobs: o.noopJobs ?? sizes.noopJobs,
    tinyRepos: o.tinyRepos ?? sizes.tinyRepos,
  };
}
