/**
 * bbm's public API: everything a program that installs bbm may import (`import { ... } from 'bbm'`).
 * Nothing else is supported; the CLI (`bbm`) covers the same operations from a shell.
 */
export { defineWorkFunction, type TypedWorkContext, type WorkFunctionSpec } from './api/work';
export { startWorker, runWorker, type WorkerOptions, type BbmWorkerHandle } from './api/worker';
export { BbmClient, type BbmClientOptions } from './api/client';
export type { ConnectionSettings } from './api/settings';
export { queueMigration, ensureFinished, type SqlRunner, type QueueOptions, type SchemaEnsureFinishedOptions } from './schema-migrations';
export type { EnsureFinishedOptions } from './repository/finalize';
export type { DryRunReport } from './engine/dry-run';
export type { WorkContext, WorkFunction, WorkTarget } from './engine/registry';
export type { MigrationDefinition } from './engine/definitions';
export type { MigrationProgress } from './engine/types';
export type { MigrationInfo } from './api/migration-info';
export type { Knobs } from './knobs';
export type { MigrationSelector } from './engine/control';
export type { SelectorInput, AuditFilterInput } from './api/inputs';
export type { ControlReport, RetryReport, RepositoryStatus } from './repository';
export type { RepositoryProgress, ConfigureRequest } from './contract/messages';
export type { ConfigureReport } from './repository/configure';
export type { AuditEvent, AuditFilter } from './store/audit';
export type { AuditAction, AuditVia } from './contract/audit';
export type { RepositorySummary } from './contract/workflows';
export type { HealthIndicator, HealthIndicatorContext } from './health/registry';
export {
  parseIdentifier,
  parseTableName,
  quoteIdent,
  quoteTable,
  formatIdent,
  formatTable,
  type QualifiedName,
} from './engine/identifiers';
export { BbmError, ErrorCode, ERROR_CODES, isBbmError } from './errors';
