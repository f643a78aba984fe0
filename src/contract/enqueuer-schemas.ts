import * as z from 'zod/mini';
import { count, intIn, list, message, text, tolerant } from './schema-kit';
import { auditStampFields, ignoredSignalsSchema, knobsSchema, repositoryKey, repositoryStateSchema } from './schemas';

/**
 * The enqueuer's messages, one schema each: its input and carried state, the wake signal (also
 * the enqueuerTick's payload), repositoryDone and setCapacity. See ./schemas.ts for the rules.
 * Pure module: the workflow sandbox loads it.
 */

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
export const capacityRequestSchema = message(
  { capacity, ...auditStampFields },
  { unknown: 'setCapacity field', expected: 'a JSON object like {"capacity":5}' },
);

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
    knobsByPrefix: z.optional(z.record(z.string(), knobsSchema)),
    runs: count(),
    at: z.nullable(z.string()),
    ignoredSignals: z.optional(ignoredSignalsSchema),
    recent: z.optional(
      list(
        tolerant(
          {
            wakeUp: count(),
            reason: z.string(),
            started: list(z.string()),
            alreadyRunning: list(z.string()),
            noRepositoryFound: z.boolean(),
            atCapacity: z.boolean(),
            at: z.string(),
          },
          { unknown: 'field', expected: 'a wake-up outcome' },
        ),
      ),
    ),
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
    knobsByPrefix: z.optional(z.record(z.string(), knobsSchema)),
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
