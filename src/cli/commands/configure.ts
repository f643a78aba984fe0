import type { Command } from 'commander';
import type { ConfigureRequest } from '../../contract/messages';
import { invalidInput } from '../../errors';
import type { Knobs } from '../../knobs';
import { action } from '../action';
import type { CliContext } from '../context';
import { ExitCode } from '../exit-codes';
import { renderFields } from '../output';
import { collectKnob, definitionFlag, subBatchFlag, tunerFlag } from '../parse';

interface ConfigureOptions {
  repository?: string;
  batchSize?: number;
  subBatchSize?: number;
  subBatchOff?: boolean;
  subBatchPauseMs?: number;
  targetJobMs?: number;
  minBatchSize?: number;
  maxBatchSize?: number;
  knob?: Partial<Knobs>;
}

/**
 * `bbm migrations configure [name] [--repository KEY] [--batch-size N] ... [--knob k=v]`: the
 * `configure` update of the repository's running workflow (knobs, batch size, sub-batch and
 * tuning settings), or, when none runs, the migration settings written directly. Both are
 * recorded in the audit trail (`batch_size`, `configure`). Each flag is refused with the code the
 * update uses (INVALID_BATCH_SIZE, INVALID_SUB_BATCH_SIZE, ...); INVALID_INPUT for nothing to change.
 */
export function registerConfigure(group: Command): void {
  group
    .command('configure [name]')
    .description("change a migration's (or a repository's) batch size, sub-batch and tuning settings, and its running workflow's knobs")
    .option('--repository <key>', "every unfinished migration of this repository (default: the named migration's)")
    .option('--batch-size <n>', 'rows per job, 1..1000000', definitionFlag('batchSize', '--batch-size'))
    .option('--sub-batch-size <n>', 'rows per sub-batch, at most the batch size', subBatchFlag('subBatchSize'))
    .option('--no-sub-batches', 'turn sub-batches off (one transaction per job)')
    .option('--sub-batch-pause-ms <ms>', 'pause between sub-batches, 0..60000 ms', subBatchFlag('subBatchPauseMs'))
    .option('--target-job-ms <ms>', 'adaptive batch size target, 0..3600000 ms (0: off)', tunerFlag('targetJobMs'))
    .option('--min-batch-size <n>', 'lower bound of the tuned batch size', tunerFlag('minBatchSize'))
    .option('--max-batch-size <n>', 'upper bound of the tuned batch size', tunerFlag('maxBatchSize'))
    .option('--knob <name=value>', "a running workflow's batch loop setting (repeatable), e.g. --knob maxDelayMs=200", collectKnob)
    .action(action<ConfigureOptions & { subBatches?: boolean }>((ctx, [name], opts) => configure(ctx, name, opts)));
}

async function configure(ctx: CliContext, name: string | undefined, opts: ConfigureOptions & { subBatches?: boolean }): Promise<number> {
  // Knobs were checked one by one as parsed; against the knobs in force by the workflow's validator.
  const request: ConfigureRequest = { ...opts.knob };
  if (name !== undefined) request.migration = name;
  if (opts.batchSize !== undefined) request.batchSize = opts.batchSize;
  if (opts.subBatchSize !== undefined) request.subBatchSize = opts.subBatchSize;
  if (opts.subBatches === false) request.subBatchSize = null;
  for (const field of ['subBatchPauseMs', 'targetJobMs', 'minBatchSize', 'maxBatchSize'] as const)
    if (opts[field] !== undefined) request[field] = opts[field];
  if (Object.keys(request).filter((k) => k !== 'migration').length === 0)
    throw invalidInput(
      'Nothing to change: give --batch-size, --sub-batch-size, --no-sub-batches, --sub-batch-pause-ms, --target-job-ms, --min/--max-batch-size or --knob.',
    );
  let repository = opts.repository;
  if (repository === undefined) {
    if (name === undefined) throw invalidInput('Name a migration, or give --repository KEY.');
    repository = (await ctx.repositories().progress({ name }))[0]?.repository as string;
  }
  const report = await ctx.repositories().configure(repository, request);
  ctx.out.result({ repository, ...report }, () =>
    report.appliedBy === 'workflow'
      ? `Applied by the running workflow of ${repository}.\n${renderFields(Object.entries(report.knobs).map(([k, v]) => [k, String(v)]))}`
      : `No workflow of ${repository} runs; wrote the settings of ${report.changed.length} migration(s): ${report.changed.join(', ') || 'none'}.`,
  );
  return ExitCode.OK;
}
