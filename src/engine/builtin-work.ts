import { BbmError, ErrorCode } from '../errors';
import { assertIdentifier, quoteIdent } from './identifiers';
import type { WorkContext, WorkFunction, WorkTarget } from './registry';

/**
 * Work functions that ship with bbm, so common backfills need no code. Each builds its SQL from
 * validated, quoted identifiers and an allow-listed transform; values travel as parameters.
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

/** The rows a job covers, as a WHERE clause with $1/$2 parameters, per strategy. */
function batchPredicate(ctx: WorkContext, nullColumn: string): { where: string; values: unknown[] } {
  if (ctx.strategy === 'serial') return { where: `${ctx.quotedColumn} BETWEEN $1 AND $2`, values: [ctx.start, ctx.end] };
  // NULL strategy: lock the next batch of NULL rows; SKIP LOCKED keeps application writers unblocked.
  return {
    where: `ctid = ANY (ARRAY(SELECT ctid FROM ${ctx.quotedTable} WHERE ${quoteIdent(nullColumn)} IS NULL LIMIT $1 FOR UPDATE SKIP LOCKED))`,
    values: [ctx.batchSize],
  };
}

function copyTarget(args: Record<string, unknown>, target: WorkTarget): string {
  if (target.strategy === 'null') {
    if (args.to !== undefined && args.to !== target.column) {
      throw new BbmError(
        ErrorCode.INVALID_INPUT,
        `copy_column with the NULL strategy writes the migration's column "${target.column}"; "to" must be omitted or equal to it.`,
      );
    }
    return target.column;
  }
  if (args.to === undefined) throw new BbmError(ErrorCode.INVALID_INPUT, 'copy_column needs args.to, the column to write.');
  const to = assertIdentifier(args.to, 'copy_column args.to');
  // Rewriting the column the ranges are computed from would move rows between jobs mid-run.
  if (to === target.column)
    throw new BbmError(ErrorCode.INVALID_INPUT, `copy_column must not write the pagination column "${target.column}".`);
  return to;
}

export const copyColumn: WorkFunction = {
  name: 'copy_column',
  description: 'Sets column `to` from column `from`, optionally transformed (none, md5, lower, upper, trim, text).',
  validateArgs(args, target) {
    assertIdentifier(args.from, 'copy_column args.from');
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
  requiredColumns: (args, target) => [String(args.from), copyTarget(args, target)],
  async run(ctx) {
    const to = copyTarget(ctx.args, { strategy: ctx.strategy, column: ctx.column });
    const expression = (TRANSFORMS[String(ctx.args.transform ?? 'none')] ?? '$SRC').replace('$SRC', quoteIdent(String(ctx.args.from)));
    const { where, values } = batchPredicate(ctx, to);
    const result = await ctx.client.query(`UPDATE ${ctx.quotedTable} SET ${quoteIdent(to)} = ${expression} WHERE ${where}`, values);
    return result.rowCount ?? 0;
  },
};

/** Adds 1 to an integer column: the exactly-once probe used by tests, benchmarks and fault drills. */
export const incrementColumn: WorkFunction = {
  name: 'increment',
  description: 'Adds 1 to integer column `target` for every row of the batch (used to prove each row is touched exactly once).',
  validateArgs(args, target) {
    assertIdentifier(args.target, 'increment args.target');
    // A NULL-strategy job must clear the NULLs it picks; incrementing another column would pick
    // the same rows again forever (each time "changing" them, so no-progress detection misses it).
    if (target.strategy === 'null' && args.target !== target.column) {
      throw new BbmError(
        ErrorCode.INVALID_INPUT,
        `increment with the NULL strategy must target the migration's column "${target.column}"; got ${JSON.stringify(args.target)}.`,
      );
    }
  },
  requiredColumns: (args) => [String(args.target)],
  async run(ctx) {
    const target = quoteIdent(String(ctx.args.target));
    const { where, values } = batchPredicate(ctx, ctx.column);
    const result = await ctx.client.query(`UPDATE ${ctx.quotedTable} SET ${target} = coalesce(${target}, 0) + 1 WHERE ${where}`, values);
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
