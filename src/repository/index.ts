/**
 * The repository room of the client side: everything that starts, describes, signals, cancels
 * and lists repository workflows and their migrations. The CLI, the demo and the enqueuer call
 * it; nothing here runs inside a workflow.
 */
export * from './control';
export * from './finalize';
export * from './service';
export * from './summary';
export * from './workflow';
export type { MigrationRow } from '../store/types';
export type { MigrationProgress } from '../engine/types';
