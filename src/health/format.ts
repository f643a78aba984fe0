import type { HealthVerdict, TrippedIndicator } from './indicators';

/**
 * Human forms of readings for the CLI, logs and status details. Pure (the workflow may use it).
 */

const BYTE_UNITS = ['B', 'kB', 'MB', 'GB', 'TB'];

/** `1500` ms -> "1.5 s", `8388608` bytes -> "8.0 MB", counts as plain numbers; null -> "?". */
export function formatValue(value: number | null, unit: string): string {
  if (value === null || !Number.isFinite(value)) return '?';
  if (unit === 'ms')
    return value < 1_000
      ? `${Math.round(value)} ms`
      : value < 120_000
        ? `${(value / 1_000).toFixed(1)} s`
        : `${(value / 60_000).toFixed(1)} min`;
  if (unit === 'bytes') {
    let scaled = value;
    let i = 0;
    while (Math.abs(scaled) >= 1024 && i < BYTE_UNITS.length - 1) {
      scaled /= 1024;
      i++;
    }
    return i === 0 ? `${value} B` : `${scaled.toFixed(1)} ${BYTE_UNITS[i]}`;
  }
  const rounded = Number.isInteger(value) ? String(value).replace(/\B(?=(\d{3})+(?!\d))/g, ',') : value.toFixed(2);
  return `${rounded} ${unit}`;
}

/** "replication_lag_bytes 9.0 MB > 8.0 MB" */
export function describeTripped(t: TrippedIndicator): string {
  return `${t.indicator} ${formatValue(t.value, t.unit)} > ${formatValue(t.threshold, t.unit)}`;
}

/** One line for a log or a status detail: "healthy", or every tripped indicator. */
export function describeVerdict(verdict: HealthVerdict): string {
  if (verdict.healthy) return verdict.unknown.length > 0 ? `healthy (not measurable: ${verdict.unknown.join(', ')})` : 'healthy';
  return `throttled: ${verdict.tripped.map(describeTripped).join('; ')}`;
}
