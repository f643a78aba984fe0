import * as z from 'zod/mini';
import { LIMITS } from '../engine/constants';
import { DEFAULT_HEALTH_KNOBS, HEALTH_KNOB_RANGES, type HealthKnobs } from '../health/knobs';
import { bool, count, intIn, list, matching, message, oneOf, text, tolerant } from './schema-kit';

/**
 * One zod schema per JSON message bbm accepts from outside: workflow inputs, signal, update and
 * query arguments, knobs and migration definitions (activity inputs: ./activity-schemas.ts).
 * Each refuses unknown keys and names the accepted ones; `carried` state is the exception (see
 * `tolerant`). The TypeScript interfaces in ./messages.ts and ./workflows.ts stay the documented
 * types; ./schema-types.ts checks at compile time that each schema accepts exactly its type.
 * Pure module: the workflow sandbox loads it.
 */

export const REPOSITORY_KEY_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:/@-]{0,199}$/;
export const MIGRATION_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,199}$/;
export const repositoryKey = matching(REPOSITORY_KEY_PATTERN, 'a repository key (letters, digits, _ . : / @ -, up to 200)');
export const migrationName = matching(MIGRATION_NAME_PATTERN, 'a migration name (letters, digits, _ . : -, up to 200)');

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
  message({ migration: z.optional(migrationName) }, { unknown: 'field', expected: '{} or {"migration":"<name>"}' }),
);

/** The configure update: knobs, plus `batchSize` (and `migration` to change one migration's batch size). */
export const configureSchema = message(
  {
    ...knobsSchema.shape,
    batchSize: z.optional(intIn(LIMITS.MIN_BATCH_SIZE, LIMITS.MAX_BATCH_SIZE)),
    migration: z.optional(migrationName),
  },
  { unknown: 'configure field', expected: 'a JSON object of knobs, e.g. {"maxJobPerBatch":2}' },
);

export const REPOSITORY_STATES = [
  'starting',
  'running',
  'waiting_for_lock',
  'waiting_for_work_function',
  'retrying',
  'pausing',
  'paused',
  'finished',
  'failed',
  'cancelled',
] as const;
export const repositoryStateSchema = oneOf(REPOSITORY_STATES);

const controlRequestSchema = message(
  { kind: oneOf(['pause', 'resume']), migration: z.optional(migrationName) },
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

// ---- enqueuer messages --------------------------------------------------------------------

export const CAPACITY_RANGE = Object.freeze([0, 1000] as const);
export const capacity = intIn(CAPACITY_RANGE[0], CAPACITY_RANGE[1], `an integer from 0 (start nothing new) to ${CAPACITY_RANGE[1]}`);
export const MAX_REASON_LENGTH = 200;
export const MAX_PREFIX_LENGTH = 200;

/** The wake signal and the enqueuerTick's wake payload (WakeRequest). */
export const wakeRequestSchema = message(
  {
    reason: z.optional(text(MAX_REASON_LENGTH)),
    repositoryPrefix: z.optional(text(MAX_PREFIX_LENGTH, true)),
    knobs: z.optional(knobsSchema),
  },
  { unknown: 'wake request field', expected: 'a JSON object like {"reason":"cli"}' },
);

/** The repositoryDone signal a repository workflow sends when it reaches a final state. */
export const repositoryDoneSchema = message(
  { repository: repositoryKey, state: repositoryStateSchema, runId: z.optional(text(200, true)) },
  { unknown: 'repositoryDone field', expected: 'a JSON object like {"repository":"r","state":"finished"}' },
);

/** The setCapacity update (CapacityRequest). */
export const capacityRequestSchema = message({ capacity }, { unknown: 'setCapacity field', expected: 'a JSON object like {"capacity":5}' });

const enqueuerReportSchema = tolerant(
  {
    capacity: count(),
    running: list(z.string()),
    started: list(z.string()),
    alreadyRunning: list(z.string()),
    noRepositoryFound: z.boolean(),
    atCapacity: z.boolean(),
    reason: z.nullable(z.string()),
    wakeUps: count(),
    startedTotal: count(),
    pending: count(),
    tracked: list(z.string()),
    knobs: knobsSchema,
    runs: count(),
    at: z.nullable(z.string()),
    ignoredSignals: z.optional(ignoredSignalsSchema),
  },
  { unknown: 'field', expected: 'an enqueuer report' },
);

/** What one enqueuer run hands to the next (EnqueuerCarriedState); wake reasons are bbm's own here, so any length. */
export const enqueuerCarriedSchema = tolerant(
  {
    tracked: list(z.string()),
    closing: list(
      tolerant(
        { repository: z.string(), runId: z.optional(z.string()), checks: z.optional(count()) },
        { unknown: 'field', expected: 'a notice' },
      ),
    ),
    pending: list(
      tolerant(
        { reason: z.optional(z.string()), repositoryPrefix: z.optional(z.string()), knobs: z.optional(knobsSchema) },
        { unknown: 'field', expected: 'a wake request' },
      ),
    ),
    report: enqueuerReportSchema,
  },
  { unknown: 'carried field', expected: 'the state a previous run carried over' },
);

/** The enqueuer workflow's input (EnqueuerInput). */
export const enqueuerInputSchema = message(
  {
    capacity: z.optional(capacity),
    knobs: z.optional(knobsSchema),
    historyEventBudget: z.optional(intIn(100, 50_000)),
    recheckSeconds: z.optional(intIn(1, 86_400)),
    carried: z.optional(enqueuerCarriedSchema),
  },
  { unknown: 'enqueuer input field', expected: 'a JSON object like {"capacity":5}' },
);

/** The enqueuerTick workflow's input (what the schedule starts). */
export const enqueuerTickInputSchema = z.nullish(
  message(
    { reason: z.optional(text(MAX_REASON_LENGTH)) },
    { unknown: 'enqueuerTick input field', expected: 'a JSON object like {"reason":"schedule"}' },
  ),
);

/** The healthCheck workflow takes nothing: no input, null or `{}`. */
export const healthCheckInputSchema = z.nullish(message({}, { unknown: 'healthCheck input field', expected: '{} (or no input)' }));

/** Query arguments: bbm's queries (progress, capacity, status) take none; `{}` or null is tolerated. */
export const queryArgsSchema = z
  .array(z.nullish(message({}, { unknown: 'query argument field', expected: 'nothing (or {})' })), { error: 'must be no arguments' })
  .check(z.maxLength(1, { error: 'takes no arguments' }));
