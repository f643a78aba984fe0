import { formatTable } from '../engine/identifiers';
import { invalidInput } from '../errors';
import { checkKnobs, DEFAULT_KNOBS, type Knobs } from '../knobs';
import type { Queryable } from '../store/types';
import { evaluate } from './evaluate';
import { healthThresholds, type HealthReadings, type HealthThresholds, type HealthVerdict } from './indicators';
import { customThresholds, type HealthMonitor } from './monitor';
import type { HealthRegistry } from './registry';
import { resolveHealthTable, type HealthTarget } from './target';

/** Input of a health check (the `checkHealth` activity's input, and `bbm health`'s). One JSON object. */
export interface CheckHealthInput extends HealthTarget {
  /**
   * Thresholds and the cache interval, as knobs (`maxReplicationLagMs`, `healthCheckIntervalMs`, ...);
   * missing ones take their defaults. Any knob is accepted and validated like the `configure`
   * update, so a workflow can pass its whole knobs object; the others are ignored here.
   */
  thresholds?: Partial<Knobs>;
  /** Ignore the cache (the CLI always reads fresh). @default false */
  fresh?: boolean;
}

export interface CheckHealthResult {
  /** `schema.table` the table-scoped indicators looked at, or null. */
  table: string | null;
  readings: HealthReadings;
  thresholds: HealthThresholds;
  verdict: HealthVerdict;
  /** True when the readings were reused from the last `healthCheckIntervalMs`. */
  cached: boolean;
}

export interface CheckHealthDeps {
  db: Queryable;
  monitor: HealthMonitor;
  indicators?: HealthRegistry;
}

/**
 * Read the health indicators for a repository, a migration or a table and judge them.
 * @throws BbmError INVALID_INPUT (bad thresholds or target), INVALID_IDENTIFIER, MIGRATION_NOT_FOUND,
 *   REPOSITORY_NOT_FOUND; database errors as they come (retryable).
 */
export async function checkHealth(deps: CheckHealthDeps, input: CheckHealthInput): Promise<CheckHealthResult> {
  if (input === null || typeof input !== 'object' || Array.isArray(input))
    throw invalidInput('A health check takes one JSON object: {repository | migration | table, thresholds}.');
  const problem = checkKnobs(input.thresholds);
  if (problem) throw invalidInput(`Invalid health thresholds: ${problem.message}.`);
  const knobs: Knobs = { ...DEFAULT_KNOBS, ...input.thresholds };
  const maxAgeMs = input.fresh ? 0 : knobs.healthCheckIntervalMs;
  const targetKey = `target:${JSON.stringify([input.repository ?? null, input.migration ?? null, input.table ?? null])}`;
  const { value: table } = await deps.monitor.remember(targetKey, maxAgeMs, () => resolveHealthTable(deps.db, input));
  const { readings, cached } = await deps.monitor.read({ table, maxAgeMs });
  const thresholds = { ...healthThresholds(knobs), ...customThresholds(deps.indicators) };
  return { table: table ? formatTable(table) : null, readings, thresholds, verdict: evaluate(readings, thresholds), cached };
}
