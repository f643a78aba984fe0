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

/** The built-in work functions plus `extra`: the registry of a test worker or engine. */
export function registryWith(...extra: WorkFunction[]): WorkRegistry {
  return new WorkRegistry([...BUILTIN_WORK, ...extra]);
}

export { quoteIdent };

export interface Gate {
  /** Waits until the gate opens, then increments `counter` like the built-in. */
  work: WorkFunction;
  /** How many jobs are waiting at the gate right now. */
  waiting(): number;
  /** Let every waiting and future job through; idempotent. */
  open(): void;
}

/**
 * A work function whose jobs wait until the test opens the gate: a repository stays running for
 * exactly as long as the test needs, however slow the machine (in-process test workers only).
 * Open it in a `finally`, or a failing test leaves the worker waiting for the job to time out.
 */
export function gatedWork(name = 'gated'): Gate {
  let release!: () => void;
  const opened = new Promise<void>((resolve) => (release = resolve));
  let waiting = 0;
  return {
    work: {
      name,
      description: 'waits for the test, then increments counter (tests)',
      async run(ctx) {
        waiting += 1;
        try {
          await Promise.race([
            opened,
            new Promise<void>((_, reject) =>
              ctx.signal.addEventListener('abort', () => reject(new Error('job cancelled')), { once: true }),
            ),
          ]);
        } finally {
          waiting -= 1;
        }
        const r = await ctx.client.query(
          `UPDATE ${ctx.quotedTable} SET counter = counter + 1 WHERE ${ctx.quotedColumn} BETWEEN $1 AND $2`,
          [ctx.start, ctx.end],
        );
        return r.rowCount ?? 0;
      },
    },
    waiting: () => waiting,
    open: () => release(),
  };
}
