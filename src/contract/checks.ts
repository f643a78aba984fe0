import { ApplicationFailure } from '@temporalio/common';
import * as z from 'zod/mini';
import { ErrorCode } from '../errors';
import { checkKnobs, type Knobs } from '../knobs';
import { checkSubBatchSettings } from './sub-batches';
import { checkGivenTunerSettings } from '../engine/batch-tuner';
import { enqueuerWorkflowId, repositoryWorkflowId } from './ids';
import type { ConfigureRequest, IgnoredSignals, MigrationTarget } from './messages';
import { problemOf, type Problem } from './schema-kit';
import { configureSchema, healthCheckInputSchema, migrationTargetSchema, queryArgsSchema, repositoryInputSchema } from './schemas';
import {
  capacityRequestSchema,
  enqueuerInputSchema,
  enqueuerTickInputSchema,
  repositoryDoneSchema,
  wakeRequestSchema,
} from './enqueuer-schemas';

/**
 * The checks every entry point runs, as pure functions over the schemas: each returns undefined
 * when the payload fits, or a Problem (code, message naming the field and what it accepts).
 * Workflows turn a Problem into a non-retryable ApplicationFailure (`asFailure`), clients and the
 * CLI into a BbmError.
 */

/** The repositoryMigration input; the workflow ID must be `bbm-repository:<repository>`. */
export function repositoryInputProblem(input: unknown, workflowId: string): Problem | undefined {
  const shape = problemOf(repositoryInputSchema, input, 'The repositoryMigration input');
  if (shape) return shape;
  const { repository, knobs } = input as { repository: string; knobs?: unknown };
  if (workflowId !== repositoryWorkflowId(repository)) {
    return invalid(
      `The workflow ID must be "${repositoryWorkflowId(repository)}" so that one repository has one execution; got "${workflowId}".`,
    );
  }
  const knobProblem = checkKnobs(knobs);
  return knobProblem ? invalid(`knobs: ${knobProblem.message}`, ['knobs']) : undefined;
}

/** The configure update, against the knobs in force (`current`); batchSize problems are INVALID_BATCH_SIZE. */
export function configureProblem(request: unknown, current: Knobs): Problem | undefined {
  const shape = problemOf(configureSchema, request, 'The configure request', {
    batchSize: ErrorCode.INVALID_BATCH_SIZE,
    subBatchSize: ErrorCode.INVALID_SUB_BATCH_SIZE,
    subBatchPauseMs: ErrorCode.INVALID_SUB_BATCH_PAUSE,
    minBatchSize: ErrorCode.INVALID_BATCH_SIZE,
    maxBatchSize: ErrorCode.INVALID_BATCH_SIZE,
  });
  if (shape) return shape;
  const {
    batchSize,
    migration: _m,
    subBatchSize,
    subBatchPauseMs,
    targetJobMs,
    minBatchSize,
    maxBatchSize,
    actor: _actor,
    via: _via,
    ...knobs
  } = request as ConfigureRequest;
  const knobProblem = checkKnobs(knobs, current);
  if (knobProblem) return invalid(knobProblem.message);
  const tuning = checkGivenTunerSettings({ targetJobMs, minBatchSize, maxBatchSize });
  if (tuning) return { code: tuning.code, message: tuning.message, path: ['minBatchSize'] };
  // Against the request's own batch size here; against stored ones by the activity, in its transaction.
  const subBatch = checkSubBatchSettings({ subBatchSize, subBatchPauseMs }, batchSize);
  return subBatch ? { code: subBatch.code, message: subBatch.message, path: ['subBatchSize'] } : undefined;
}

/** A pause, resume or retry signal's payload: nothing, `{}` or `{"migration":"<name>"}`. */
export function migrationTargetProblem(signal: string, target: unknown): Problem | undefined {
  return problemOf(migrationTargetSchema, target, `The ${signal} signal's payload`);
}

/** Narrow a checked target to its migration name (undefined: every migration of the repository). */
export function targetMigration(target: unknown): string | undefined {
  return (target as MigrationTarget | null | undefined)?.migration;
}

export function capacityRequestProblem(request: unknown): Problem | undefined {
  return problemOf(capacityRequestSchema, request, 'The setCapacity request');
}

export function wakeProblem(request: unknown): Problem | undefined {
  return problemOf(z.nullish(wakeRequestSchema), request, 'The wake request');
}

export function repositoryDoneProblem(done: unknown): Problem | undefined {
  return problemOf(repositoryDoneSchema, done, 'The repositoryDone signal');
}

/** The enqueuer input; the workflow ID must be `bbm-enqueuer/<task queue>`. */
export function enqueuerStartProblem(input: unknown, workflowId: string, taskQueue: string): Problem | undefined {
  const shape = problemOf(enqueuerInputSchema, input, 'The enqueuer input');
  if (shape) return shape;
  const knobProblem = checkKnobs((input as { knobs?: unknown }).knobs);
  if (knobProblem) return invalid(`knobs: ${knobProblem.message}`, ['knobs']);
  if (workflowId !== enqueuerWorkflowId(taskQueue)) {
    return invalid(
      `The enqueuer's workflow ID must be "${enqueuerWorkflowId(taskQueue)}" (one per task queue); got "${workflowId}". Wake it with signal-with-start on that ID.`,
    );
  }
  return undefined;
}

export function tickInputProblem(input: unknown): Problem | undefined {
  return problemOf(enqueuerTickInputSchema, input, 'The enqueuerTick input');
}

export function healthInputProblem(input: unknown): Problem | undefined {
  return problemOf(healthCheckInputSchema, input, 'The healthCheck input');
}

/** bbm's queries take no arguments; `args` is what the handler received. */
export function queryArgsProblem(query: string, args: unknown[]): Problem | undefined {
  const problem = problemOf(queryArgsSchema, args, `The ${query} query`);
  return problem && invalid(`The ${query} query takes no arguments (or {}); got ${JSON.stringify(args)}`);
}

/** Count a signal ignored for `problem` (signals cannot be refused, so the progress/status query shows it). */
export function noteIgnoredSignal(previous: IgnoredSignals | undefined, problem: Problem): IgnoredSignals {
  return { count: (previous?.count ?? 0) + 1, last: problem.message };
}

/** Throw (failing the query, not the workflow) when a query was sent arguments; bbm's queries take none. */
export function assertNoQueryArgs(query: string, args: unknown[]): void {
  const problem = queryArgsProblem(query, args);
  if (problem) throw asFailure(problem);
}

/** The non-retryable ApplicationFailure a workflow, validator or query throws for a Problem. */
export function asFailure(problem: Problem): ApplicationFailure {
  return ApplicationFailure.create({
    type: problem.code,
    message: problem.message,
    nonRetryable: true,
    details: [{ path: problem.path }],
  });
}

function invalid(message: string, path: (string | number)[] = []): Problem {
  return { code: ErrorCode.INVALID_INPUT, message, path };
}
