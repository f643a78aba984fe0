import * as z from 'zod/mini';
import type { $ZodShape } from 'zod/v4/core';
import { bool, count, decimal, intIn, list, message, oneOf, problemOf, text, type Problem } from './schema-kit';
import { auditOriginSchema, knobsSchema, migrationName, repositoryKey, subBatchFields, tunerFields } from './schemas';
import { AUDIT_ACTIONS } from './audit';
import { repositoryDoneSchema, wakeRequestSchema } from './enqueuer-schemas';

/**
 * The input of every activity, one schema each, keyed by activity name. Activities check their
 * input on entry (activities/failures.ts `checkedInput`), so a payload written by hand (or by a
 * workflow of another version) is refused with a non-retryable INVALID_INPUT naming the field,
 * before anything touches the database. Unknown keys are refused here too: when a workflow
 * starts passing a new field, deploy the activity that reads it first.
 */

const ms = intIn(0, 365 * 86_400_000, 'a duration in milliseconds');
const name = text(200, true);

export const fenceSchema = message(
  { repository: repositoryKey, holder: text(400, true), token: decimal(true) },
  { unknown: 'fence token field', expected: 'a fence token {"repository","holder","token"}' },
);

export const jobDescriptorSchema = message(
  {
    jobId: decimal(true),
    migrationId: decimal(true),
    migrationName: name,
    repository: repositoryKey,
    workName: name,
    table: name,
    column: name,
    strategy: name,
    start: z.nullable(decimal()),
    end: z.nullable(decimal()),
    batchSize: count(),
    attempts: count(),
  },
  { unknown: 'job field', expected: 'a job descriptor' },
);

const wakeUpContextSchema = message(
  { wakeUp: count(), reason: z.string(), coalesced: count(), prefixes: z.nullable(list(z.string())), capacity: count() },
  { unknown: 'wake-up field', expected: 'a wake-up context' },
);

const input = <S extends $ZodShape>(activity: string, shape: S) =>
  message(shape, { unknown: `${activity} input field`, expected: `the ${activity} activity's input object` });

export const ACTIVITY_INPUT_SCHEMAS = Object.freeze({
  // repository workflow
  acquireLease: input('acquireLease', { repository: repositoryKey, holder: text(400, true), ttlMs: ms, waitMs: ms }),
  findJob: input('findJob', {
    repository: repositoryKey,
    fence: fenceSchema,
    maxJobAttempts: count(),
    retryFailed: bool(),
    exclude: list(decimal(true)),
    leaseTtlMs: ms,
  }),
  executeJob: input('executeJob', {
    job: jobDescriptorSchema,
    fence: fenceSchema,
    maxJobAttempts: count(),
    jobTimeoutMs: ms,
    batchId: text(200, true),
    findAhead: z.optional(
      message({ exclude: list(decimal(true)), leaseTtlMs: ms }, { unknown: 'findAhead field', expected: 'a find-ahead request' }),
    ),
    runAhead: z.optional(bool()),
    healthCheckInMs: z.optional(ms),
  }),
  releaseLease: input('releaseLease', { fence: fenceSchema, minDelayMs: ms, maxDelayMs: ms }),
  controlMigrations: input('controlMigrations', {
    action: oneOf(['pause', 'resume', 'retry']),
    repository: repositoryKey,
    migration: z.optional(migrationName),
    origin: z.optional(auditOriginSchema),
    auditAction: z.optional(oneOf(['cancel'])),
    reason: z.optional(oneOf(['cancel'])),
  }),
  setBatchSize: input('setBatchSize', {
    repository: repositoryKey,
    migration: z.optional(migrationName),
    batchSize: z.optional(count()),
    ...subBatchFields,
    ...tunerFields,
    origin: z.optional(auditOriginSchema),
    knobs: z.optional(
      message(
        { before: z.record(z.string(), z.unknown()), after: z.record(z.string(), z.unknown()) },
        { unknown: 'knobs field', expected: '{"before","after"}' },
      ),
    ),
  }),
  repositoryProgress: input('repositoryProgress', { repository: repositoryKey }),
  // enqueuer workflow
  notifyEnqueuer: repositoryDoneSchema,
  surveyRepositories: input('surveyRepositories', {
    wake: wakeUpContextSchema,
    tracked: list(z.string()),
    closing: list(
      message({ repository: z.string(), runId: z.optional(z.string()) }, { unknown: 'closing field', expected: 'a closing notice' }),
    ),
  }),
  startRepositories: input('startRepositories', {
    wake: wakeUpContextSchema,
    repositories: list(repositoryKey),
    knobs: knobsSchema,
    knobsByPrefix: z.optional(z.record(z.string(), knobsSchema)),
    running: count(),
    alreadyRunning: list(z.string()),
  }),
  wakeEnqueuerFromTick: wakeRequestSchema,
  // audit trail
  recordAudit: input('recordAudit', {
    action: oneOf(AUDIT_ACTIONS),
    origin: auditOriginSchema,
    repository: z.optional(repositoryKey),
    target: text(400, true),
    before: z.optional(z.unknown()),
    after: z.optional(z.unknown()),
  }),
  // health
  checkHealth: input('checkHealth', {
    repository: z.optional(text(200, true)),
    migration: z.optional(text(200, true)),
    table: z.optional(text(400, true)),
    thresholds: z.optional(knobsSchema),
    fresh: z.optional(bool()),
  }),
  recordThrottled: input('recordThrottled', {
    repository: repositoryKey,
    indicators: list(text(200, true)),
    throttledMs: ms,
  }),
  databaseInfo: message({}, { unknown: 'databaseInfo input field', expected: '{}' }),
});

export type ActivityName = keyof typeof ACTIVITY_INPUT_SCHEMAS;

/**
 * An activity's input against its schema: undefined when it fits, else the Problem. Kept out of
 * ./checks.ts so that the workflow bundle, which never checks activity inputs, does not build
 * these schemas in every workflow's sandbox.
 */
export function activityInputProblem(activity: ActivityName, input: unknown): Problem | undefined {
  return problemOf(ACTIVITY_INPUT_SCHEMAS[activity], input, `The ${activity} activity's input`);
}
