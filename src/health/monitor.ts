import { formatTable, quoteTable, type QualifiedName } from '../engine/identifiers';
import { canListArchiveStatus, readHealthSnapshot } from '../store/health';
import type { Queryable } from '../store/types';
import type { HealthReading, HealthReadings, HealthThresholds } from './indicators';
import { builtinReadings } from './readings';
import type { HealthRegistry } from './registry';

export interface HealthMonitorOptions {
  db: Queryable;
  /** Custom indicators read after the built-ins. @default none */
  indicators?: HealthRegistry;
  /** Clock for the cache, in ms. @default Date.now */
  now?: () => number;
}

export interface ReadHealthOptions {
  /** Table for the table-scoped indicators; null or absent: cluster-wide indicators only. */
  table?: QualifiedName | null;
  /** Reuse readings of the same table taken at most this long ago. @default 0 (always read) */
  maxAgeMs?: number;
}

export interface ReadHealthResult {
  readings: HealthReadings;
  /** True when the readings came from the cache (no round trip). */
  cached: boolean;
}

interface Entry {
  takenAt: number;
  promise: Promise<unknown>;
  settled: boolean;
}

/**
 * Reads the health indicators: the built-ins in one round trip, then each custom indicator.
 * Readings are cached per table for `maxAgeMs`, and concurrent callers for the same table share
 * one read, so many repositories on one worker cost the database one check per interval.
 */
export class HealthMonitor {
  private readonly cache = new Map<string, Entry>();
  private readonly now: () => number;
  /** Asked once: a role's privileges do not change while a worker runs, or rarely enough. */
  private archiveMethod: Promise<'exact' | 'estimated'> | undefined;

  constructor(private readonly options: HealthMonitorOptions) {
    this.now = options.now ?? Date.now;
  }

  /** @throws whatever the database throws (connection errors); a failing custom indicator only reads null. */
  async read(options: ReadHealthOptions = {}): Promise<ReadHealthResult> {
    const table = options.table ?? null;
    const { value, cached } = await this.remember(`table:${table ? formatTable(table) : ''}`, options.maxAgeMs ?? 0, () =>
      this.take(table),
    );
    return { readings: value, cached };
  }

  /**
   * `load()`'s result for `key`, reused while younger than `maxAgeMs` (a load in flight is always
   * shared). A failed load is forgotten, so the next call tries again. Also used to cache which
   * table a repository's check looks at, so a cached check costs no round trip at all.
   */
  async remember<T>(key: string, maxAgeMs: number, load: () => Promise<T>): Promise<{ value: T; cached: boolean }> {
    const entry = this.cache.get(key);
    const now = this.now();
    if (entry && (!entry.settled || now - entry.takenAt < maxAgeMs)) return { value: (await entry.promise) as T, cached: true };
    const fresh: Entry = { takenAt: now, promise: load(), settled: false };
    this.cache.set(key, fresh);
    try {
      return { value: (await fresh.promise) as T, cached: false };
    } catch (err) {
      if (this.cache.get(key) === fresh) this.cache.delete(key);
      throw err;
    } finally {
      fresh.settled = true;
    }
  }

  private async archive(): Promise<'exact' | 'estimated'> {
    this.archiveMethod ??= canListArchiveStatus(this.options.db).then((ok) => (ok ? 'exact' : 'estimated'));
    try {
      return await this.archiveMethod;
    } catch (err) {
      this.archiveMethod = undefined;
      throw err;
    }
  }

  private async take(table: QualifiedName | null): Promise<HealthReadings> {
    const quotedTable = table ? quoteTable(table) : null;
    const name = table ? formatTable(table) : null;
    const snapshot = await readHealthSnapshot(this.options.db, quotedTable, await this.archive());
    const readings = builtinReadings(snapshot, name);
    for (const indicator of this.options.indicators?.list() ?? []) {
      readings.push(await readCustom(indicator, { db: this.options.db, table, quotedTable }));
    }
    return { at: snapshot.at.toISOString(), table: name, tableFound: table === null || snapshot.tableFound, readings };
  }
}

async function readCustom(
  indicator: ReturnType<HealthRegistry['list']>[number],
  ctx: Parameters<typeof indicator.read>[0],
): Promise<HealthReading> {
  try {
    const value = await indicator.read(ctx);
    return { indicator: indicator.name, value: value === null || !Number.isFinite(value) ? null : value, unit: indicator.unit };
  } catch (err) {
    return { indicator: indicator.name, value: null, unit: indicator.unit, detail: `failed: ${(err as Error).message}` };
  }
}

/** Thresholds of the custom indicators, to merge with the built-ins' (healthThresholds(knobs)). */
export function customThresholds(registry: HealthRegistry | undefined): HealthThresholds {
  return Object.fromEntries((registry?.list() ?? []).map((i) => [i.name, i.threshold]));
}
