import { BUILTIN_WORK } from '../../src/engine/builtin-work';
import { WorkRegistry, type WorkFunction } from '../../src/engine/registry';
import { quoteIdent } from '../../src/engine/identifiers';

/** Increments `counter` like the built-in, but takes `ms` per job: gives tests time to act mid-run. */
export function slowIncrement(ms: number, name = 'slow_increment'): WorkFunction {
  return {
    name,
    description: 'increment counter slowly (tests)',
    async run(ctx) {
      await ctx.client.query('SELECT pg_sleep($1)', [ms / 1000]);
      const r = await ctx.client.query(`UPDATE ${ctx.quotedTable} SET counter = counter + 1 WHERE ${ctx.quotedColumn} BETWEEN $1 AND $2`, [
        ctx.start,
        ctx.end,
      ]);
      return r.rowCount ?? 0;
    },
  };
}

export function registryWith(...extra: WorkFunction[]): WorkRegistry {
  return new WorkRegistry([...BUILTIN_WORK, ...extra]);
}

export { quoteIdent };
