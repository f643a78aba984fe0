import { LIMITS } from '../engine/constants';
import { checkSubBatchSettings } from './sub-batches';
import { capacityProblem, enqueuerInputProblem } from '../enqueuer/policy';
import { ErrorCode } from '../errors';
import { checkKnobs, type Knobs } from '../knobs';
import { enqueuerWorkflowId, isRepositoryKey, repositoryWorkflowId } from './ids';
import type { ControlKind, ControlRequest } from './workflows';

/**
 * The checks of every message bbm's workflows accept, as pure functions: the workflows turn a
 * refusal into a non-retryable ApplicationFailure, the CLI into an exit code, and unit tests call
 * them directly. Each returns undefined when the message is fine.
 */

/** Why a message is refused: a stable code and a message that names the field and what is accepted. */
export interface Refusal {
  code: ErrorCode;
  message: string;
}

const refuse = (message: string, code: ErrorCode = ErrorCode.INVALID_INPUT): Refusal => ({ code, message });

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** The longest migration name a control signal may carry. */
export const MAX_MIGRATION_NAME_LENGTH = 200;

/**
 * The repository workflow's start input (RepositoryWorkflowInput), and its workflow ID, which must
 * be `bbm-repository:<repository>` so one repository has one execution.
 */
export function repositoryInputProblem(input: unknown, workflowId: string): Refusal | undefined {
  if (!isObject(input)) return refuse('Input must be a JSON object like {"repository":"public.images"}.');
  if (!isRepositoryKey(input.repository))
    return refuse(`"repository" must be a repository key (letters, digits, _ . : / @ -); got ${JSON.stringify(input.repository)}.`);
  const expected = repositoryWorkflowId(input.repository);
  if (workflowId !== expected)
    return refuse(`The workflow ID must be "${expected}" so that one repository has one execution; got "${workflowId}".`);
  const knobs = checkKnobs(input.knobs);
  if (knobs) return refuse(`Invalid knobs: ${knobs.message}.`);
  if (input.retryFailed !== undefined && typeof input.retryFailed !== 'boolean') return refuse('"retryFailed" must be true or false.');
  return undefined;
}

/**
 * A `configure` update: knobs (checked against the current ones), plus optional batch and sub-batch
 * settings (INVALID_BATCH_SIZE, INVALID_SUB_BATCH_SIZE, INVALID_SUB_BATCH_PAUSE) and a migration.
 */
export function configureRequestProblem(request: unknown, current: Knobs): Refusal | undefined {
  if (!isObject(request)) return refuse('configure takes a JSON object of knobs.');
  const { batchSize, subBatchSize, subBatchPauseMs, migration, ...knobs } = request;
  const problem = checkKnobs(knobs, current);
  if (problem) return refuse(problem.message);
  if (
    batchSize !== undefined &&
    (typeof batchSize !== 'number' ||
      !Number.isInteger(batchSize) ||
      batchSize < LIMITS.MIN_BATCH_SIZE ||
      batchSize > LIMITS.MAX_BATCH_SIZE)
  ) {
    return refuse(
      `batchSize must be an integer from ${LIMITS.MIN_BATCH_SIZE} to ${LIMITS.MAX_BATCH_SIZE}; got ${JSON.stringify(batchSize)}.`,
      ErrorCode.INVALID_BATCH_SIZE,
    );
  }
  // Against the request's own batch size here; against stored ones by the activity, in its transaction.
  const subBatch = checkSubBatchSettings({ subBatchSize, subBatchPauseMs }, batchSize);
  if (subBatch) return subBatch;
  if (migration !== undefined && typeof migration !== 'string') return refuse('migration must be a migration name.');
  return undefined;
}

/**
 * A pause, resume or retry signal's payload: nothing, `{}` (every migration of the repository) or
 * `{"migration":"<name>"}`. Signals have no validator, so the workflow logs and ignores a refusal.
 */
export function parseControlRequest(kind: ControlKind, payload: unknown): { request: ControlRequest } | { refusal: Refusal } {
  if (payload === undefined || payload === null) return { request: { kind } };
  const migration = isObject(payload) ? payload.migration : null;
  if (migration === undefined) return { request: { kind } };
  if (typeof migration === 'string' && migration.length > 0 && migration.length <= MAX_MIGRATION_NAME_LENGTH)
    return { request: { kind, migration } };
  return {
    refusal: refuse(
      `ignored a malformed ${kind} signal: expected {} or {"migration":"<name>"}; got ${JSON.stringify(payload) ?? String(payload)}`,
    ),
  };
}

/** The enqueuer's start input, and its workflow ID (`bbm-enqueuer/<task queue>`, one per task queue). */
export function enqueuerStartProblem(input: unknown, workflowId: string, taskQueue: string): Refusal | undefined {
  if (!isObject(input)) return refuse('Input must be a JSON object like {"capacity":5}.');
  const problem = enqueuerInputProblem(input);
  if (problem) return refuse(`Invalid enqueuer input: ${problem}.`);
  const expected = enqueuerWorkflowId(taskQueue);
  if (workflowId !== expected)
    return refuse(
      `The enqueuer's workflow ID must be "${expected}" (one per task queue); got "${workflowId}". Wake it with signal-with-start on that ID.`,
    );
  return undefined;
}

/** A `setCapacity` update: `{"capacity": <0..1000>}`. */
export function capacityRequestProblem(request: unknown): Refusal | undefined {
  if (!isObject(request)) return refuse('setCapacity takes a JSON object like {"capacity":5}.');
  const problem = capacityProblem(request.capacity);
  return problem ? refuse(`${problem}.`) : undefined;
}
