import { createAuditActivities, type AuditActivityDeps } from './audit';
import { createEnqueuerActivities, type EnqueuerActivityDeps } from './enqueuer';
import { createHealthActivities, type HealthActivityDeps } from './health';
import { createRepositoryActivities, type RepositoryActivityDeps } from './repository';

export type ActivityDeps = RepositoryActivityDeps & EnqueuerActivityDeps & HealthActivityDeps & AuditActivityDeps;

/** All of bbm's activities, built from their dependencies: the worker factory and tests use this one function. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createRepositoryActivities(deps),
    ...createEnqueuerActivities(deps),
    ...createHealthActivities(deps),
    ...createAuditActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
