import { BbmError, ErrorCode } from '../errors';
import { formatIdent, formatTable, parseIdentifier, quoteIdent } from './identifiers';
import { assignable, columnType } from '../store/catalog';
import type { WorkFunction, WorkTarget } from './registry';

/**
 * Work functions that ship with bbm, so common backfills need no code. Each builds its SQL from
 * parsed, quoted identifiers, an allow-listed transform and the job's rows (`ctx.where`); values
 * travel as parameters.
 */

/** SQL expressions a copy may apply to the source column. `$SRC` is the quoted source column. */
const TRANSFORMS: Readonly<Record<string, string>> = Object.freeze({
  none: '$SRC',
  md5: 'md5($SRC::text)',
  lower: 'lower($SRC::text)',
  upper: 'upper($SRC::text)',
  trim: 'btrim($SRC::text)',
  text: '$SRC::text',
});

function copyTarget(args: Record<string, unknown>, target: WorkTarget): string {
  if (target.strategy === 'null') {
    if (args.to !== undefined && parseIdentifier(args.to, 'copy_column args.to') !== target.column) {
      throw new BbmError(
        ErrorCode.INVALID_INPUT,
        `copy_column with the NULL strategy writes the migration's column "${target.column}"; "to" must be omitted or equal to it.`,
      );
    }
    return target.column;
  }
  if (args.to === undefined) throw new BbmError(ErrorCode.INVALID_INPUT, 'copy_column needs args.to, the column to write.');
  const to = parseIdentifier(args.to, 'copy_column args.to');
  // Rewriting the column the ranges are computed from would move rows between jobs mid-run.
  if (to === target.column)
    throw new BbmError(ErrorCode.INVALID_INPUT, `copy_column must not write the pagination column "${target.column}".`);
  return to;
}

export const copyColumn: WorkFunction = {
  name: 'copy_column',
  description: 'Sets column `to` from column `from`, optionally transformed (none, md5, lower, upper, trim, text).',
  validateArgs(args, target) {
    parseIdentifier(args.from, 'copy_column args.from');
    copyTarget(args, target);
    const transform = args.transform ?? 'none';
    if (typeof transform !== 'string' || !(transform in TRANSFORMS)) {
      throw new BbmError(
        ErrorCode.INVALID_INPUT,
        `copy_column args.transform must be one of ${Object.keys(TRANSFORMS).join(', ')}; got ${JSON.stringify(transform)}.`,
      );
    }
    for (const key of Object.keys(args)) {
      if (!['from', 'to', 'transform'].includes(key)) throw new BbmError(ErrorCode.INVALID_INPUT, `copy_column does not take args.${key}.`);
    }
  },
  requiredColumns: (args, target) => [parseIdentifier(args.from, 'copy_column args.from'), copyTarget(args, target)],
  async checkTarget(db, table, args, target) {
    // Without this, every job would fail with PostgreSQL's 42804 "column is of type ... but
    // expression is of type ..." until the migration failed (found by a fresh tester).
    const from = parseIdentifier(args.from, 'copy_column args.from');
    const to = copyTarget(args, target);
    const transform = String(args.transform ?? 'none');
    if (await assignable(db, table, transform === 'none' ? from : null, to)) return;
    const [fromType, toType] = [await columnType(db, table, from), await columnType(db, table, to)];
    const source = transform === 'none' ? `${formatIdent(from)} (${fromType})` : `${transform}(${formatIdent(from)}) (text)`;
    throw new BbmError(
      ErrorCode.INVALID_COLUMN,
      `copy_column cannot store ${source} into ${formatIdent(to)} (${toType}) of ${formatTable(table)}: PostgreSQL has no assignment cast between them. ` +
        'Copy into a column of a compatible type (or text), or write a work function that converts the value.',
      { table: formatTable(table), from, to, fromType, toType },
    );
  },
  async run(ctx) {
    const to = copyTarget(ctx.args, { strategy: ctx.strategy, column: ctx.column });
    const expression = (TRANSFORMS[String(ctx.args.transform ?? 'none')] ?? '$SRC').replace(
      '$SRC',
      quoteIdent(parseIdentifier(ctx.args.from, 'copy_column args.from')),
    );
    const result = await ctx.client.query(
      `UPDATE ${ctx.quotedTable} SET ${quoteIdent(to)} = ${expression} WHERE ${ctx.where.sql}`,
      ctx.where.values,
    );
    return result.rowCount ?? 0;
  },
};

/** Adds 1 to an integer column: the exactly-once probe used by tests, benchmarks and fault drills. */
export const incrementColumn: WorkFunction = {
  name: 'increment',
  description: 'Adds 1 to integer column `target` for every row of the batch (used to prove each row is touched exactly once).',
  validateArgs(args, target) {
    // A NULL-strategy job must clear the NULLs it picks; incrementing another column could not,
    // so the definition is refused at once instead of failing every job with NO_PROGRESS.
    const column = parseIdentifier(args.target, 'increment args.target');
    if (target.strategy === 'null' && column !== target.column) {
      throw new BbmError(
        ErrorCode.INVALID_INPUT,
        `increment with the NULL strategy must target the migration's column "${target.column}"; got ${JSON.stringify(args.target)}.`,
      );
    }
  },
  requiredColumns: (args) => [parseIdentifier(args.target, 'increment args.target')],
  async run(ctx) {
    const target = quoteIdent(parseIdentifier(ctx.args.target, 'increment args.target'));
    const result = await ctx.client.query(
      `UPDATE ${ctx.quotedTable} SET ${target} = coalesce(${target}, 0) + 1 WHERE ${ctx.where.sql}`,
      ctx.where.values,
    );
    return result.rowCount ?? 0;
  },
};

/** Touches nothing: measures bbm's own per-job overhead. */
export const noop: WorkFunction = {
  name: 'noop',
  description: 'Does nothing and reports 0 rows; for tests and for measuring orchestration overhead.',
  async run() {
    return 0;
  },
};

export const BUILTIN_WORK: readonly WorkFunction[] = Object.freeze([copyColumn, incrementColumn, noop]);
