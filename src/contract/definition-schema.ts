import * as z from 'zod/mini';
import { BatchingStrategy, LIMITS } from '../engine/constants';
import { ErrorCode } from '../errors';
import { bool, intIn, matching, message, text } from './schema-kit';
import { migrationName, repositoryKey, subBatchFields, tunerFields } from './schemas';

/**
 * A migration definition, as `bbm migrations create` flags, a `--file` (JSON or YAML) or
 * `defineMigration()` in code give it. The schema checks each field's shape; what needs the
 * database (the table and column exist, the name is free, the range fits the data) and the work
 * function's own arguments are checked by defineMigration after it.
 */

// A number, a bigint, or a decimal string for values beyond 2^53; exactInteger (src/engine/int8.ts) checks the digits.
const bound = z.union([z.number(), z.bigint(), z.string()], {
  error: 'must be an integer: a number, a bigint, or a decimal string such as "9007199254740993"',
});
const STRATEGIES = Object.values(BatchingStrategy);

export const definitionSchema = message(
  {
    name: migrationName,
    repository: z.optional(repositoryKey),
    work: text(200, true),
    table: text(200, true),
    column: text(200, true),
    strategy: z.optional(
      matching(
        new RegExp(`^(${STRATEGIES.join('|')})$`),
        '"serial" (ranges of a unique column), "distinct" (ranges of distinct values) or "null" (rows where the column IS NULL)',
      ),
    ),
    batchSize: z.optional(intIn(LIMITS.MIN_BATCH_SIZE, LIMITS.MAX_BATCH_SIZE)),
    ...subBatchFields,
    ...tunerFields,
    minValue: z.optional(bound),
    maxValue: z.optional(bound),
    args: z.optional(z.record(z.string(), z.unknown(), { error: 'must be a JSON object of work function arguments' })),
    paused: z.optional(bool()),
  },
  { unknown: 'migration definition field', expected: 'a JSON object with the definition fields' },
);

/** A `--file`: any subset of the fields (flags fill in the rest), still no unknown ones. */
export const definitionFileSchema = z.partial(definitionSchema);

/** The code of a refusal, by field: the shape checks keep the codes the engine always used. */
export const DEFINITION_CODES: Readonly<Partial<Record<string, ErrorCode>>> = Object.freeze({
  work: ErrorCode.INVALID_JOB_SIGNATURE,
  table: ErrorCode.INVALID_IDENTIFIER,
  column: ErrorCode.INVALID_IDENTIFIER,
  strategy: ErrorCode.INVALID_BATCHING_STRATEGY,
  batchSize: ErrorCode.INVALID_BATCH_SIZE,
  subBatchSize: ErrorCode.INVALID_SUB_BATCH_SIZE,
  subBatchPauseMs: ErrorCode.INVALID_SUB_BATCH_PAUSE,
  minBatchSize: ErrorCode.INVALID_BATCH_SIZE,
  maxBatchSize: ErrorCode.INVALID_BATCH_SIZE,
  minValue: ErrorCode.INVALID_RANGE,
  maxValue: ErrorCode.INVALID_RANGE,
});
