import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import YAML from 'yaml';
import { failureCodeName, migrationStatusName } from '../../engine/constants';
import { defineMigration, type MigrationDefinition } from '../../engine/definitions';
import { DEFINITION_CODES, definitionFileSchema } from '../../contract/definition-schema';
import { problemOf } from '../../contract/schema-kit';
import { BbmError, invalidInput } from '../../errors';
import type { MigrationRow } from '../../repository';
import { formatIdent } from '../../engine/identifiers';
import { action } from '../action';
import { formatCount, renderFields, renderTable, subBatchText } from '../output';
import { collectArg, decimalInteger, definitionFlag, jsonObject, subBatchFlag, tunerFlag } from '../parse';
import { loadWorkRegistry } from '../registry';
import { dryRunMigration } from '../../engine/dry-run';
import { migrationInfo } from '../../api/migration-info';
import { renderDryRun } from './dry-run-output';

interface CreateOptions {
  file?: string;
  name?: string;
  repository?: string;
  work?: string;
  table?: string;
  column?: string;
  strategy?: string;
  batchSize?: number;
  subBatchSize?: number;
  subBatchPauseMs?: number;
  targetJobMs?: number;
  minBatchSize?: number;
  maxBatchSize?: number;
  minValue?: string;
  maxValue?: string;
  arg?: Record<string, unknown>;
  args?: Record<string, unknown>;
  paused?: boolean;
  workModule?: string;
  dryRun?: boolean;
}

/** The `migrations` group with create and list; status and control add their commands to it (see program.ts). */
export function registerMigrations(program: Command): Command {
  const group = program.command('migrations').description('define, inspect and control migrations');

  group
    .command('create')
    .description('define a migration (flags, or --file with a JSON/YAML definition; flags override the file)')
    .option('-f, --file <path>', 'JSON or YAML file with the definition fields')
    .option('--name <name>', 'unique name, e.g. 2026_11_backfill_digest')
    .option('--repository <key>', 'exclusivity key; migrations of one repository run one at a time (default: the table)')
    .option('--work <function>', 'registered work function: copy_column, increment, noop, or yours (--work-module)')
    .option(
      '--table <table>',
      'target table, "table" or "schema.table" (unquoted names fold to lower case; quote to keep case: \'"Items"\')',
    )
    .option(
      '--column <column>',
      'serial: a unique integer column (usually id); distinct: a non-unique integer column; null: the column whose NULLs are filled',
    )
    .option(
      '--strategy <strategy>',
      'batching strategy: serial, distinct or null (default serial)',
      definitionFlag('strategy', '--strategy'),
    )
    .option(
      '--batch-size <n>',
      'rows per job, 1..1000000; distinct: distinct values per job (default 1000)',
      definitionFlag('batchSize', '--batch-size'),
    )
    .option(
      '--sub-batch-size <n>',
      'rows per sub-batch, at most the batch size: each commits on its own, so row locks last one sub-batch (default: off, one transaction per job; GitLab uses 100)',
      subBatchFlag('subBatchSize'),
    )
    .option('--sub-batch-pause-ms <ms>', 'pause between sub-batches, 0..60000 ms (default 100, as GitLab)', subBatchFlag('subBatchPauseMs'))
    .option(
      '--target-job-ms <ms>',
      'adaptive batch size: the time one job should take, 0..3600000 ms; 0 keeps --batch-size fixed (default 500)',
      tunerFlag('targetJobMs'),
    )
    .option(
      '--min-batch-size <n>',
      'lower bound of the tuned batch size (default: the lower of 1000 and --batch-size)',
      tunerFlag('minBatchSize'),
    )
    .option('--max-batch-size <n>', 'upper bound of the tuned batch size (default 1000000)', tunerFlag('maxBatchSize'))
    .option(
      '--min-value <n>',
      'first value (serial, distinct; default: min(column) now); any integer of the column type, exactly',
      decimalInteger('--min-value'),
    )
    .option('--max-value <n>', 'last value (serial, distinct; default: max(column) now)', decimalInteger('--max-value'))
    .option('--arg <key=value>', 'work function argument (repeatable), e.g. --arg from=payload --arg to=copy', collectArg)
    .option('--args <json>', 'work function arguments as a JSON object', jsonObject)
    .option('--paused', 'create it paused (start it later with `bbm migrations resume`)')
    .option('--work-module <path>', 'module exporting extra work functions (the worker must load it too)')
    .option(
      '--dry-run',
      "write nothing: print the plan, the EXPLAIN of the first job's work queries (with warnings) and a time estimate from one sample job run in a rolled-back transaction",
    )
    .action(
      action<CreateOptions>(async (ctx, _args, opts) => {
        const def = buildDefinition(opts);
        const pool = await ctx.db();
        if (opts.dryRun) {
          const report = await dryRunMigration({ pool, registry: loadWorkRegistry(opts.workModule) }, def);
          ctx.out.result(report, () => renderDryRun(report));
          return;
        }
        const row = await defineMigration({ pool, registry: loadWorkRegistry(opts.workModule) }, def, ctx.audit);
        ctx.out.result(migrationJson(row), () =>
          [
            `Created migration ${row.name} (#${row.id}), ${migrationStatusName(row.status)}.`,
            renderFields(describeRow(row)),
            '',
            `Run it:  bbm repositories start ${row.repository}   (or let the enqueuer pick it up: bbm enqueue)`,
          ].join('\n'),
        );
      }),
    );

  group
    .command('list')
    .description('list migrations and their definitions')
    .option('--repository <key>', 'only this repository')
    .action(
      action<{ repository?: string }>(async (ctx, _args, opts) => {
        const rows = await ctx.repositories().migrations({ repository: opts.repository });
        ctx.out.result(rows.map(migrationJson), () =>
          rows.length === 0
            ? 'No migrations yet. Define one with `bbm migrations create`.'
            : renderTable(
                ['ID', 'NAME', 'REPOSITORY', 'WORK', 'TARGET', 'STRATEGY', 'BATCH', 'RANGE', 'STATUS'],
                rows.map((m) => [
                  m.id,
                  m.name,
                  m.repository,
                  m.work,
                  `${m.tableName}.${formatIdent(m.columnName)}`,
                  m.batchingStrategy,
                  formatCount(m.batchSize),
                  rangeText(m),
                  statusText(m),
                ]),
              ),
        );
      }),
    );

  return group;
}

/** A file's fields, then flags on top; unknown file keys are refused (a typo must not be ignored). */
export function buildDefinition(opts: CreateOptions): MigrationDefinition {
  let def: Partial<MigrationDefinition> = {};
  if (opts.file) def = readDefinitionFile(opts.file);
  const fromFlags: Partial<MigrationDefinition> = {
    name: opts.name,
    repository: opts.repository,
    work: opts.work,
    table: opts.table,
    column: opts.column,
    strategy: opts.strategy,
    batchSize: opts.batchSize,
    subBatchSize: opts.subBatchSize,
    subBatchPauseMs: opts.subBatchPauseMs,
    targetJobMs: opts.targetJobMs,
    minBatchSize: opts.minBatchSize,
    maxBatchSize: opts.maxBatchSize,
    minValue: opts.minValue,
    maxValue: opts.maxValue,
    paused: opts.paused,
  };
  for (const [key, value] of Object.entries(fromFlags)) if (value !== undefined) (def as Record<string, unknown>)[key] = value;
  if (opts.args || opts.arg) def.args = { ...(def.args ?? {}), ...(opts.args ?? {}), ...(opts.arg ?? {}) };
  const missing = (['name', 'work', 'table', 'column'] as const).filter((k) => def[k] === undefined || def[k] === '');
  if (missing.length > 0) {
    throw invalidInput(
      `Missing ${missing.map((k) => `--${k}`).join(', ')} (or the same fields in --file). Example:\n  bbm migrations create --name backfill_copy --work copy_column --table items --column id --arg from=payload --arg to=copy`,
    );
  }
  return def as MigrationDefinition;
}

function readDefinitionFile(file: string): Partial<MigrationDefinition> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw invalidInput(`Cannot read --file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}.`);
  }
  let parsed: unknown;
  try {
    parsed = /\.ya?ml$/i.test(path.extname(file)) ? YAML.parse(text) : JSON.parse(text);
  } catch (err) {
    throw invalidInput(`--file ${file} is not valid ${/\.ya?ml$/i.test(file) ? 'YAML' : 'JSON'}: ${(err as Error).message}`);
  }
  // The definition schema's own check: unknown fields are refused, naming the accepted ones.
  const problem = problemOf(definitionFileSchema, parsed, 'The file', DEFINITION_CODES);
  if (problem) throw new BbmError(problem.code, `--file ${file}: ${problem.message}.`, { field: problem.path.join('.') });
  return parsed as Partial<MigrationDefinition>;
}

/** `--json` of create and list: the API's JSON-safe view (src/api/migration-info.ts). */
export const migrationJson = migrationInfo;

function describeRow(m: MigrationRow): [string, string | number | null][] {
  return [
    ['repository', m.repository],
    ['work', `${m.work} ${JSON.stringify(m.workArgs)}`],
    ['target', `${m.tableName}.${formatIdent(m.columnName)}`],
    ['strategy', m.batchingStrategy],
    ['range', rangeText(m)],
    ['batch size', batchSizeText(m)],
    ['sub-batches', subBatchText(m.subBatchSize, m.subBatchPauseMs)],
    ['rows (estimate)', formatCount(m.totalTupleCount)],
  ];
}

/** "12,100 (tuned toward 500 ms per job, 1,000..1,000,000)" or "1,000 (fixed)". */
function batchSizeText(m: Pick<MigrationRow, 'batchSize' | 'targetJobMs' | 'minBatchSize' | 'maxBatchSize'>): string {
  if (m.targetJobMs <= 0) return `${formatCount(m.batchSize)} (fixed)`;
  return `${formatCount(m.batchSize)} (tuned toward ${m.targetJobMs} ms per job, ${formatCount(m.minBatchSize)}..${formatCount(m.maxBatchSize)})`;
}

function rangeText(m: MigrationRow): string {
  return m.maxValue === null ? 'NULL rows' : `${m.minValue}..${m.maxValue}`;
}

function statusText(m: MigrationRow): string {
  const failure = failureCodeName(m.failureErrorCode);
  return failure ? `${migrationStatusName(m.status)} (${failure})` : migrationStatusName(m.status);
}
