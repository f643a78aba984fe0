import { z } from 'zod';
import { BatchingStrategy, LIMITS } from '../engine/constants';
import { ErrorCode } from '../errors';
import { bool, intIn, matching, message, text } from './schema-kit';
import { migrationName, repositoryKey } from './schemas';

/**
 * A migration definition, as `bbm migrations create` flags, a `--file` (JSON or YAML) or
 * `defineMigration()` in code give it. The schema checks each field's shape; what needs the
 * database (the table and column exist, the name is free, the range fits the data) and the work
 * function's own arguments are checked by defineMigration after it.
 */

const safeInteger = intIn(
  Number.MIN_SAFE_INTEGER,
  Number.MAX_SAFE_INTEGER,
  `an integer between ${Number.MIN_SAFE_INTEGER} and ${Number.MAX_SAFE_INTEGER}`,
);

export const definitionSchema = message(
  {
    name: migrationName,
    repository: repositoryKey.optional(),
    work: text(200, true),
    table: text(200, true),
    column: text(200, true),
    strategy: matching(
      new RegExp(`^(${BatchingStrategy.SERIAL}|${BatchingStrategy.NULL_ROWS})$`),
      '"serial" (id ranges) or "null" (rows where the column IS NULL)',
    ).optional(),
    batchSize: intIn(LIMITS.MIN_BATCH_SIZE, LIMITS.MAX_BATCH_SIZE).optional(),
    minValue: safeInteger.optional(),
    maxValue: safeInteger.optional(),
    args: z.record(z.string(), z.unknown(), { error: 'must be a JSON object of work function arguments' }).optional(),
    paused: bool().optional(),
  },
  { unknown: 'migration definition field', expected: 'a JSON object with the definition fields' },
);

/** A `--file`: any subset of the fields (flags fill in the rest), still no unknown ones. */
export const definitionFileSchema = definitionSchema.partial();

/** The code of a refusal, by field: the shape checks keep the codes the engine always used. */
export const DEFINITION_CODES: Readonly<Partial<Record<string, ErrorCode>>> = Object.freeze({
  work: ErrorCode.INVALID_JOB_SIGNATURE,
  table: ErrorCode.INVALID_IDENTIFIER,
  column: ErrorCode.INVALID_IDENTIFIER,
  strategy: ErrorCode.INVALID_BATCHING_STRATEGY,
  batchSize: ErrorCode.INVALID_BATCH_SIZE,
  minValue: ErrorCode.INVALID_RANGE,
  maxValue: ErrorCode.INVALID_RANGE,
});
