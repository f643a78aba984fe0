/**
 * The SDK floor's workflow (bench/sdk-floor.ts): nothing but a loop of local activities, so the
 * time it takes per activity is what the Temporal TypeScript SDK costs on this machine with no bbm
 * code at all. bbm's hot path is one local activity per job, so no bbm job can be cheaper.
 */
import { proxyLocalActivities } from '@temporalio/workflow';

/** The floor workflow's one input. */
export interface SdkFloorInput {
  /** Local activities to run, one after the other. */
  activities: number;
  /** What each activity takes and returns: an object the size of an executeJob input (about 300 bytes of JSON). */
  payload: Record<string, unknown>;
}

const { echo } = proxyLocalActivities<{ echo(payload: Record<string, unknown>): Promise<Record<string, unknown>> }>({
  startToCloseTimeout: '1 minute',
});

/** Run `activities` local activities in a row; returns how many ran. */
export async function sdkFloor(input: SdkFloorInput): Promise<number> {
  for (let i = 0; i < input.activities; i++) await echo(input.payload);
  return input.activities;
}
