import * as z from 'zod/mini';
import { LIMITS } from '../engine/constants';
import { DEFAULT_HEALTH_KNOBS, HEALTH_KNOB_RANGES, type HealthKnobs } from '../health/knobs';
import { REPOSITORY_KEY_PATTERN } from './ids';
import { SUB_BATCH_LIMITS } from './sub-batches';
import { bool, count, intIn, list, matching, message, oneOf, text, tolerant } from './schema-kit';
import { ACTOR_PATTERN, CLIENT_VIAS } from './audit';

/**
 * One zod schema per JSON message bbm accepts from outside: the repository workflow's input,
 * signals, update and queries, and knobs. The enqueuer's messages are in ./enqueuer-schemas.ts,
 * activity inputs in ./activity-schemas.ts, migration definitions in ./definition-schema.ts.
 * Each refuses unknown keys and names the accepted ones; `carried` state is the exception (see
 * `tolerant`). The TypeScript interfaces in ./messages.ts and ./workflows.ts stay the documented
 * types; test/unit/schema-types.test.ts checks at compile time that each schema and its type agree.
 * Pure module: the workflow sandbox loads it.
 */

export { REPOSITORY_KEY_PATTERN };
export const MIGRATION_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,199}$/;
export const repositoryKey = matching(REPOSITORY_KEY_PATTERN, 'a repository key (letters, digits, _ . : / @ -, up to 200)');
export const migrationName = matching(MIGRATION_NAME_PATTERN, 'a migration name (letters, digits, _ . : -, up to 200)');
/** Who sent a request (src/contract/audit.ts), and through which bbm client. */
export const auditStampFields = {
  actor: z.optional(matching(ACTOR_PATTERN, 'an actor name (1 to 200 printable characters)')),
  via: z.optional(oneOf(CLIENT_VIAS)),
};
export const auditOriginSchema = message(
  {
    runId: z.optional(text(200)),
    signal: z.optional(count()),
    updateId: z.optional(text(400)),
    cancel: z.optional(bool()),
    ...auditStampFields,
  },
  { unknown: 'audit origin field', expected: 'an audit origin' },
);

// ---- knobs ----------------------------------------------------------------------------------

/** Allowed range of each numeric knob (inclusive). */
export const KNOB_RANGES = Object.freeze({
  maxJobPerBatch: [1, 1000],
  maxBatchTimeoutMs: [1_000, 86_400_000],
  jobTimeoutMs: [100, 86_400_000],
  lockWaitTimeoutMs: [0, 3_600_000],
  minDelayMs: [0, 3_600_000],
  maxDelayMs: [0, 3_600_000],
  maxJobAttempts: [LIMITS.MIN_JOB_ATTEMPTS, LIMITS.MAX_JOB_ATTEMPTS],
  historyEventBudget: [500, 50_000],
  ...HEALTH_KNOB_RANGES,
} as const);

const knob = (name: keyof typeof KNOB_RANGES) => z.optional(intIn(KNOB_RANGES[name][0], KNOB_RANGES[name][1]));
const optionalBool = () => z.optional(bool());
// In the order of HealthKnobs (src/health/knobs.ts), so messages list the knobs as the docs do.
const healthKnobs = Object.fromEntries(
  Object.entries(DEFAULT_HEALTH_KNOBS).map(([name, value]) => [
    name,
    typeof value === 'boolean' ? optionalBool() : knob(name as keyof typeof KNOB_RANGES),
  ]),
) as { [K in keyof HealthKnobs]: HealthKnobs[K] extends boolean ? ReturnType<typeof optionalBool> : ReturnType<typeof knob> };
/** Any subset of the knobs (`Partial<Knobs>`); minDelayMs <= maxDelayMs is checked by checkKnobs against the base. */
export const knobsSchema = message(
  {
    maxJobPerBatch: knob('maxJobPerBatch'),
    maxBatchTimeoutMs: knob('maxBatchTimeoutMs'),
    jobTimeoutMs: knob('jobTimeoutMs'),
    lockWaitTimeoutMs: knob('lockWaitTimeoutMs'),
    minDelayMs: knob('minDelayMs'),
    maxDelayMs: knob('maxDelayMs'),
    maxJobAttempts: knob('maxJobAttempts'),
    historyEventBudget: knob('historyEventBudget'),
    localActivities: z.optional(bool()),
    ...healthKnobs,
  },
  { unknown: 'knob', expected: 'a JSON object of knobs, e.g. {"maxJobPerBatch":2}' },
);

// ---- repository workflow messages -------------------------------------------------------------

/** pause, resume and retry signals: `{}` (every migration of the repository) or `{"migration":"<name>"}`. */
export const migrationTargetSchema = z.nullish(
  message(
    { migration: z.optional(migrationName), ...auditStampFields },
    { unknown: 'field', expected: '{} or {"migration":"<name>"} (optionally with "actor")' },
  ),
);

/** A migration's sub-batch settings (src/contract/sub-batches.ts), in a definition or a configure request. */
export const subBatchFields = {
  subBatchSize: z.optional(
    z.nullable(
      intIn(
        SUB_BATCH_LIMITS.MIN_SIZE,
        SUB_BATCH_LIMITS.MAX_SIZE,
        `an integer from ${SUB_BATCH_LIMITS.MIN_SIZE} to ${SUB_BATCH_LIMITS.MAX_SIZE} (or null for one transaction per job)`,
      ),
    ),
  ),
  subBatchPauseMs: z.optional(
    intIn(
      SUB_BATCH_LIMITS.MIN_PAUSE_MS,
      SUB_BATCH_LIMITS.MAX_PAUSE_MS,
      `an integer from ${SUB_BATCH_LIMITS.MIN_PAUSE_MS} to ${SUB_BATCH_LIMITS.MAX_PAUSE_MS} (milliseconds)`,
    ),
  ),
};

/**
 * A migration's adaptive batch size settings (src/engine/batch-tuner.ts), in a definition or a
 * configure request: the target duration of one job (0 turns tuning off) and the bounds of the
 * tuned size. Their combination (min <= max, also against stored values) is checked by
 * checkTunerSettings and the store.
 */
export const tunerFields = {
  targetJobMs: z.optional(intIn(0, 3_600_000, 'an integer from 0 to 3600000 (milliseconds; 0 turns tuning off)')),
  minBatchSize: z.optional(intIn(LIMITS.MIN_BATCH_SIZE, LIMITS.MAX_BATCH_SIZE)),
  maxBatchSize: z.optional(intIn(LIMITS.MIN_BATCH_SIZE, LIMITS.MAX_BATCH_SIZE)),
};

/** The configure update: knobs, plus `batchSize` (and `migration` to change one migration's batch size). */
export const configureSchema = message(
  {
    ...knobsSchema.shape,
    batchSize: z.optional(intIn(LIMITS.MIN_BATCH_SIZE, LIMITS.MAX_BATCH_SIZE)),
    ...subBatchFields,
    ...tunerFields,
    migration: z.optional(migrationName),
    ...auditStampFields,
  },
  { unknown: 'configure field', expected: 'a JSON object of knobs, e.g. {"maxJobPerBatch":2}' },
);

export const REPOSITORY_STATES = [
  'starting',
  'running',
  'waiting_for_lease',
  'waiting_for_work_function',
  'retrying',
  'throttled',
  'pausing',
  'paused',
  'finished',
  'failed',
  'cancelled',
] as const;
export const repositoryStateSchema = oneOf(REPOSITORY_STATES);

const controlRequestSchema = message(
  { kind: oneOf(['pause', 'resume', 'retry']), migration: z.optional(migrationName), origin: z.optional(auditOriginSchema) },
  { unknown: 'control request field', expected: 'a control request' },
);

/**
 * A bigint carried across continue-as-new: a decimal string, or a number as runs of versions
 * before exact bigints carried it (the workflow converts with String()).
 */
const carriedInteger = z.union([z.string(), z.number()], { error: 'must be a decimal integer string (or a number)' });

/** Per-migration progress as reported by the engine; tolerant, because only bbm writes it. */
export const migrationProgressSchema = tolerant(
  {
    id: carriedInteger,
    name: z.string(),
    repository: z.string(),
    status: z.string(),
    failure: z.nullable(z.string()),
    percent: z.number(),
    rowsProcessed: carriedInteger,
    totalEstimate: z.nullable(carriedInteger),
    jobs: tolerant({ active: z.number(), finished: z.number(), failed: z.number() }, { unknown: 'field', expected: 'job counts' }),
    currentRange: z.nullable(z.object({ start: z.nullable(carriedInteger), end: z.nullable(carriedInteger) })),
    lastError: z.optional(z.nullable(z.string())),
    rowsPerSecond: z.nullable(z.number()),
    etaSeconds: z.nullable(z.number()),
    batchSize: z.number(),
    startedAt: z.nullable(z.string()),
    finishedAt: z.nullable(z.string()),
  },
  { unknown: 'field', expected: 'migration progress' },
);

/** Signals the workflow ignored because their payload did not fit, as the progress query reports them. */
export const ignoredSignalsSchema = tolerant(
  { count: count(), last: z.string() },
  { unknown: 'field', expected: '{"count":n,"last":"..."}' },
);

const totalsSchema = tolerant(
  {
    jobs: count(),
    rows: carriedInteger,
    batches: count(),
    migrationsFinished: list(z.string()),
    migrationsFailed: list(z.string()),
    runs: count(),
    ignoredSignals: z.optional(ignoredSignalsSchema),
  },
  { unknown: 'field', expected: 'totals' },
);

/** What one run hands to the next at continue-as-new (RepositoryCarriedState). */
export const repositoryCarriedSchema = tolerant(
  {
    totals: totalsSchema,
    failedMigrationIds: list(carriedInteger),
    pending: list(controlRequestSchema),
    progress: list(migrationProgressSchema),
    startedAt: z.string(),
  },
  { unknown: 'carried field', expected: 'the state a previous run carried over' },
);

/** The repositoryMigration workflow's input (RepositoryWorkflowInput). */
export const repositoryInputSchema = message(
  {
    repository: repositoryKey,
    knobs: z.optional(knobsSchema),
    retryFailed: z.optional(bool()),
    carried: z.optional(repositoryCarriedSchema),
  },
  { unknown: 'repositoryMigration input field', expected: 'a JSON object like {"repository":"public.images"}' },
);

/** The healthCheck workflow takes nothing: no input, null or `{}`. */
export const healthCheckInputSchema = z.nullish(message({}, { unknown: 'healthCheck input field', expected: '{} (or no input)' }));

/** Query arguments: bbm's queries (progress, capacity, status) take none; `{}` or null is tolerated. */
export const queryArgsSchema = z
  .array(z.nullish(message({}, { unknown: 'query argument field', expected: 'nothing (or {})' })), { error: 'must be no arguments' })
  .check(z.maxLength(1, { error: 'takes no arguments' }));
