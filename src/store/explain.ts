import type { Queryable } from './types';

/** A node of `EXPLAIN (FORMAT JSON)`: the fields the dry run reads. */
export interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Index Cond'?: string;
  'Recheck Cond'?: string;
  Plans?: PlanNode[];
}

/** Statements EXPLAIN accepts (a work function may also run SET, LOCK, ...). */
const EXPLAINABLE = /^\s*(select|insert|update|delete|with|merge|values|table)\b/i;

/**
 * The plan of `sql` with `values` bound, without running it (no ANALYZE): as JSON for the checks
 * and as text for people. Inside a savepoint, so a statement that cannot be planned leaves the
 * caller's transaction usable; null then, and for statements EXPLAIN does not take. `sql` is the
 * work function's own statement, already run once in the same transaction.
 */
export async function explainPlan(db: Queryable, sql: string, values: unknown[]): Promise<{ root: PlanNode; text: string[] } | null> {
  if (!EXPLAINABLE.test(sql)) return null;
  await db.query('SAVEPOINT bbm_explain');
  try {
    const json = await db.query(`EXPLAIN (FORMAT JSON) ${sql}`, values);
    const text = await db.query(`EXPLAIN ${sql}`, values);
    await db.query('RELEASE SAVEPOINT bbm_explain');
    const plan = (json.rows[0]?.['QUERY PLAN'] as Array<{ Plan: PlanNode }>)[0]?.Plan;
    return plan ? { root: plan, text: text.rows.map((r) => String(r['QUERY PLAN'])) } : null;
  } catch {
    await db.query('ROLLBACK TO SAVEPOINT bbm_explain');
    return null;
  }
}
