// The same kind of work function in TypeScript: `args` is typed by what validateArgs returns.
import { defineWorkFunction, invalidArgs, type WorkFunction } from './invalid';

interface StampArgs {
  value: string;
}

const stampTs: WorkFunction = defineWorkFunction<StampArgs>({
  name: 'stamp_ts',
  description: 'set note to args.value on the rows of the job',
  validateArgs(args) {
    if (typeof args.value !== 'string' || args.value === '') throw invalidArgs('stamp_ts needs args.value, a non-empty string.');
    return { value: args.value };
  },
  requiredColumns: () => ['note'],
  async run(ctx) {
    const value: string = ctx.args.value;
    const next = ctx.where.values.length + 1;
    const result = await ctx.client.query(`UPDATE ${ctx.quotedTable} SET note = $${next} WHERE ${ctx.where.sql}`, [
      ...ctx.where.values,
      value,
    ]);
    return result.rowCount ?? 0;
  },
});

export default [stampTs];
