import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { Pool } from 'pg';
import { configureProblem } from '../contract/checks';
import { repositoryWorkflowId } from '../contract/ids';
import { configureUpdate, type ConfigureRequest } from '../contract/messages';
import type { AuditContext } from '../engine/audit-record';
import { changeBatchSettings } from '../engine/control';
import { BbmError, ERROR_CODES, ErrorCode } from '../errors';
import { UNCONSTRAINED_KNOBS, type Knobs } from '../knobs';
import { stampOf } from './workflow';

/** What a configure did: applied by the running workflow (its knobs now), or written to the database (the migrations changed). */
export type ConfigureReport = { appliedBy: 'workflow'; knobs: Knobs } | { appliedBy: 'database'; changed: string[] };

/** Fields of a ConfigureRequest stored with the migrations; the rest are knobs of a running workflow. */
const SETTINGS = ['batchSize', 'subBatchSize', 'subBatchPauseMs', 'targetJobMs', 'minBatchSize', 'maxBatchSize'] as const;

/**
 * The `configure` update of a repository (`bbm migrations configure`, BbmClient.configure): knobs,
 * batch size and sub-batch/tuning settings. Its running workflow applies it (and records it in the
 * audit trail as `configure` / `batch_size`, with `audit` as the sender); when none runs, the
 * migration settings are written directly, recorded in the same transaction, and knobs are refused
 * (INVALID_STATE: they live in a running workflow; start it with knobs instead). Bad values are
 * refused before anything changes with the update's codes (INVALID_INPUT, INVALID_BATCH_SIZE,
 * INVALID_SUB_BATCH_SIZE, INVALID_SUB_BATCH_PAUSE); MIGRATION_NOT_FOUND for an unknown migration.
 */
export async function configureRepository(
  deps: { pool: Pool; client: () => Promise<Client>; audit?: AuditContext },
  repository: string,
  request: ConfigureRequest,
): Promise<ConfigureReport> {
  // Each knob on its own (and the given ones together): only the workflow knows the knobs in force.
  const problem = configureProblem(request, UNCONSTRAINED_KNOBS);
  if (problem) throw new BbmError(problem.code, `${problem.message}.`, { field: problem.path.join('.') });
  const payload: ConfigureRequest = { ...request, ...stampOf(deps.audit) };
  const client = await deps.client();
  try {
    const knobs = await client.workflow.getHandle(repositoryWorkflowId(repository)).executeUpdate(configureUpdate, { args: [payload] });
    return { appliedBy: 'workflow', knobs };
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure && isCode(err.cause.type)) {
      throw new BbmError(err.cause.type, err.cause.message, { repository }, { cause: err });
    }
    if (!(err instanceof WorkflowNotFoundError)) throw err;
  }
  const { migration, actor: _a, via: _v, ...rest } = request;
  const knobNames = Object.keys(rest).filter((k) => !(SETTINGS as readonly string[]).includes(k));
  if (knobNames.length > 0) {
    throw new BbmError(
      ErrorCode.INVALID_STATE,
      `No workflow of repository ${repository} is running, and ${knobNames.join(', ')} ${knobNames.length > 1 ? 'are knobs' : 'is a knob'} of a running workflow: start it with them (bbm repositories start ${repository} --knob name=value ...) instead.`,
      { repository, knobs: knobNames },
    );
  }
  const change = Object.fromEntries(SETTINGS.filter((k) => rest[k] !== undefined).map((k) => [k, rest[k]]));
  const changed = await changeBatchSettings(deps.pool, { repository, name: migration }, change, deps.audit);
  return { appliedBy: 'database', changed };
}

function isCode(type: string | null | undefined): type is ErrorCode {
  return (ERROR_CODES as readonly string[]).includes(type ?? '');
}
