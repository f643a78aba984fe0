import type { HealthReadings, HealthThresholds, HealthVerdict, TrippedIndicator } from './indicators';

/**
 * Judge readings against thresholds. An indicator trips when it is enabled (a numeric threshold),
 * was measured, and its value is above the threshold. An enabled indicator that could not be
 * measured is listed as unknown and does not trip: a missing privilege must show up as a warning,
 * not stop every migration. Pure and deterministic, so the workflow and the CLI judge alike.
 */
export function evaluate(readings: Pick<HealthReadings, 'readings'>, thresholds: HealthThresholds): HealthVerdict {
  const tripped: TrippedIndicator[] = [];
  const unknown: string[] = [];
  for (const reading of readings.readings) {
    const threshold = thresholds[reading.indicator];
    if (typeof threshold !== 'number') continue;
    if (reading.value === null || !Number.isFinite(reading.value)) unknown.push(reading.indicator);
    else if (reading.value > threshold) tripped.push({ indicator: reading.indicator, value: reading.value, threshold, unit: reading.unit });
  }
  return { healthy: tripped.length === 0, tripped, unknown };
}
