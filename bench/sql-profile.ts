import { Client } from 'pg';

export interface StatementCost {
  statement: string;
  calls: number;
  /** Mean wall ms per call, as the client sees it (round trip included). */
  msPerCall: number;
}

/**
 * Time every query node-postgres sends from this process while `fn` runs, grouped by statement
 * text. Profiling only: it wraps Client.prototype.query for the duration and restores it after.
 */
export async function withSqlProfile<T>(fn: () => Promise<T>): Promise<{ result: T; statements: StatementCost[] }> {
  const stats = new Map<string, { calls: number; ms: number }>();
  const proto = Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const original = proto.query;
  proto.query = function profiled(this: unknown, ...args: unknown[]): unknown {
    const text = typeof args[0] === 'string' ? args[0] : ((args[0] as { text?: string } | undefined)?.text ?? '?');
    const key = text.replace(/\s+/g, ' ').trim().slice(0, 100);
    const started = performance.now();
    const out = original.apply(this, args);
    if (out && typeof (out as Promise<unknown>).then === 'function') {
      return (out as Promise<unknown>).then((value) => {
        const s = stats.get(key) ?? { calls: 0, ms: 0 };
        s.calls += 1;
        s.ms += performance.now() - started;
        stats.set(key, s);
        return value;
      });
    }
    return out;
  };
  try {
    const result = await fn();
    const statements = [...stats.entries()]
      .map(([statement, s]) => ({ statement, calls: s.calls, msPerCall: s.ms / s.calls }))
      .sort((a, b) => b.calls * b.msPerCall - a.calls * a.msPerCall);
    return { result, statements };
  } finally {
    proto.query = original;
  }
}
