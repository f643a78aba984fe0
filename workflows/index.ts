// The worker's workflow bundle: every workflow type bbm registers.
export { healthCheck } from './health';
export { repositoryMigration } from './repository';
export { enqueuer, enqueuerTick } from './enqueuer';
