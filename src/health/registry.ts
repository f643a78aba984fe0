import { invalidInput } from '../errors';
import type { QualifiedName } from '../engine/identifiers';
import type { Queryable } from '../store/types';
import { BUILTIN_INDICATORS } from './indicators';

/** What a custom indicator gets for one check. */
export interface HealthIndicatorContext {
  /** A pool connection of the worker (or the CLI): read-only queries, parameterised. */
  db: Queryable;
  /** The migration's table, or null for a cluster-only check. */
  table: QualifiedName | null;
  /** `"schema"."table"`, safe to interpolate; null with `table`. */
  quotedTable: string | null;
}

/**
 * A health indicator of your own, registered in code like a work function, so no flag or signal
 * can supply SQL. Each costs its own round trip per check, on top of the built-ins' one.
 */
export interface HealthIndicator {
  /** Lower-case letters, digits and `_`, unique, not a built-in name; the metrics label. */
  name: string;
  /** Unit of the value and the threshold, e.g. `ms`, `rows`. */
  unit: string;
  description: string;
  /** Trips when the value is above it; null: measured and shown, never trips. */
  threshold: number | null;
  /** The current value; null when it cannot be measured now (reported as unknown, never trips). */
  read(ctx: HealthIndicatorContext): Promise<number | null>;
}

const NAME = /^[a-z][a-z0-9_]{0,62}$/;

/** The custom indicators one worker (or CLI run) checks besides the built-ins. */
export class HealthRegistry {
  private readonly indicators = new Map<string, HealthIndicator>();

  constructor(indicators: HealthIndicator[] = []) {
    for (const indicator of indicators) this.register(indicator);
  }

  /** @throws BbmError INVALID_INPUT for a bad or taken name, or a threshold that is not a finite number or null. */
  register(indicator: HealthIndicator): this {
    if (!NAME.test(indicator.name))
      throw invalidInput(
        `Health indicator name ${JSON.stringify(indicator.name)} must be lower-case letters, digits and _ (starting with a letter).`,
      );
    if (this.indicators.has(indicator.name) || BUILTIN_INDICATORS.some((b) => b.name === indicator.name)) {
      throw invalidInput(`A health indicator named "${indicator.name}" already exists; names must be unique.`, { name: indicator.name });
    }
    if (indicator.threshold !== null && !Number.isFinite(indicator.threshold))
      throw invalidInput(`Health indicator "${indicator.name}" needs a finite threshold or null.`);
    this.indicators.set(indicator.name, indicator);
    return this;
  }

  list(): HealthIndicator[] {
    return [...this.indicators.values()];
  }
}
