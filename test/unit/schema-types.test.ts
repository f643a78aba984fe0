import assert from 'node:assert/strict';
import { test } from 'node:test';
import type * as z from 'zod/mini';
import type {
  AcquireLeaseInput,
  BatchSizeInput,
  ControlInput,
  ExecuteJobActivityInput,
  FindJobActivityInput,
  ReleaseLeaseInput,
} from '../../activities/repository';
import type { StartInput, SurveyInput, WakeUpContext } from '../../activities/enqueuer';
import { createActivities } from '../../activities';
import { ACTIVITY_INPUT_SCHEMAS, type fenceSchema, type jobDescriptorSchema } from '../../src/contract/activity-schemas';
import { type definitionSchema } from '../../src/contract/definition-schema';
import type {
  CapacityRequest,
  ConfigureRequest,
  EnqueuerReport,
  IgnoredSignals,
  MigrationTarget,
  RepositoryDone,
  RepositoryState,
  WakeRequest,
} from '../../src/contract/messages';
import {
  type configureSchema,
  type ignoredSignalsSchema,
  type knobsSchema,
  type migrationProgressSchema,
  type migrationTargetSchema,
  type repositoryCarriedSchema,
  type repositoryInputSchema,
  type repositoryStateSchema,
} from '../../src/contract/schemas';
import type {
  capacityRequestSchema,
  enqueuerCarriedSchema,
  enqueuerInputSchema,
  enqueuerTickInputSchema,
  repositoryDoneSchema,
  wakeRequestSchema,
} from '../../src/contract/enqueuer-schemas';
import type {
  EnqueuerCarriedState,
  EnqueuerInput,
  EnqueuerTickInput,
  RepositoryCarriedState,
  RepositoryWorkflowInput,
} from '../../src/contract/workflows';
import type { MigrationDefinition } from '../../src/engine/definitions';
import type { CheckHealthInput } from '../../src/health/check';
import type { FenceToken, JobDescriptor, MigrationProgress } from '../../src/engine/types';
import type { Knobs } from '../../src/knobs';

/**
 * The documented TypeScript types and the zod schemas are kept side by side; these compile-time
 * checks fail `tsc` (and so `npm run check`) when one changes without the other.
 */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
type Same<S extends z.ZodMiniType, T> = Equal<z.output<S>, T>;
/** For `carried` state, which also accepts what older versions carried: everything this version writes passes. */
type Accepts<S extends z.ZodMiniType, T> = [T] extends [z.input<S>] ? true : false;
function agree<_Check extends true>(): void {}

agree<Same<typeof knobsSchema, Partial<Knobs>>>();
agree<Equal<Omit<z.output<typeof repositoryInputSchema>, 'carried'>, Omit<RepositoryWorkflowInput, 'carried'>>>();
agree<Accepts<typeof repositoryCarriedSchema, RepositoryCarriedState>>();
agree<Accepts<typeof migrationProgressSchema, MigrationProgress>>();
agree<Same<typeof migrationTargetSchema, MigrationTarget | null | undefined>>();
agree<Same<typeof configureSchema, ConfigureRequest>>();
agree<Same<typeof repositoryStateSchema, RepositoryState>>();
agree<Same<typeof ignoredSignalsSchema, IgnoredSignals>>();
agree<Same<typeof wakeRequestSchema, WakeRequest>>();
agree<Same<typeof repositoryDoneSchema, RepositoryDone>>();
agree<Same<typeof capacityRequestSchema, CapacityRequest>>();
agree<Equal<Omit<z.output<typeof enqueuerInputSchema>, 'carried'>, Omit<EnqueuerInput, 'carried'>>>();
agree<Accepts<typeof enqueuerCarriedSchema, EnqueuerCarriedState>>();
agree<Accepts<typeof enqueuerCarriedSchema.shape.report, EnqueuerReport>>();
agree<Same<typeof enqueuerTickInputSchema, EnqueuerTickInput | null | undefined>>();
agree<Same<typeof definitionSchema, MigrationDefinition>>();
agree<Same<typeof fenceSchema, FenceToken>>();
agree<Same<typeof jobDescriptorSchema, JobDescriptor>>();
agree<Same<typeof ACTIVITY_INPUT_SCHEMAS.acquireLease, AcquireLeaseInput>>();
agree<Same<typeof ACTIVITY_INPUT_SCHEMAS.findJob, FindJobActivityInput>>();
agree<Same<typeof ACTIVITY_INPUT_SCHEMAS.executeJob, ExecuteJobActivityInput>>();
agree<Same<typeof ACTIVITY_INPUT_SCHEMAS.releaseLease, ReleaseLeaseInput>>();
agree<Same<typeof ACTIVITY_INPUT_SCHEMAS.controlMigrations, ControlInput>>();
agree<Same<typeof ACTIVITY_INPUT_SCHEMAS.setBatchSize, BatchSizeInput>>();
agree<Same<typeof ACTIVITY_INPUT_SCHEMAS.surveyRepositories, SurveyInput>>();
agree<Same<typeof ACTIVITY_INPUT_SCHEMAS.surveyRepositories.shape.wake, WakeUpContext>>();
agree<Same<typeof ACTIVITY_INPUT_SCHEMAS.startRepositories, StartInput>>();
agree<Same<typeof ACTIVITY_INPUT_SCHEMAS.checkHealth, CheckHealthInput>>();

test('every activity has an input schema, and every input schema names an activity', () => {
  const activities = createActivities({} as Parameters<typeof createActivities>[0]);
  assert.deepEqual(Object.keys(ACTIVITY_INPUT_SCHEMAS).sort(), Object.keys(activities).sort());
});
