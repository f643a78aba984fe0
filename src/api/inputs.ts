import { parseSince } from '../audit/actor';
import type { MigrationSelector } from '../engine/control';
import { invalidInput } from '../errors';
import type { AuditFilter } from '../store/audit';

/**
 * Checks of what BbmClient's callers pass, before anything touches the database. TypeScript
 * types do not reach JavaScript callers nor values built at run time, and an object the engine
 * does not understand must never silently mean "every migration" (a tester's `pause('x')`
 * paused them all). Every problem is INVALID_INPUT naming the field.
 */

/**
 * What `pause`/`resume` accept: a migration name (string), or an object with `name` (alias
 * `migration`, the word configure uses) and/or `repository`. `{}` selects every migration and
 * must be written out; anything else (an unknown field, a non-string value, an empty string)
 * throws INVALID_INPUT.
 */
export type SelectorInput = string | (MigrationSelector & { migration?: string });

const SELECTOR_FIELDS = new Set(['name', 'migration', 'repository']);

/** Resolve a pause/resume selector; `method` names the call in the error. Throws INVALID_INPUT. */
export function checkSelector(input: unknown, method: string): MigrationSelector {
  if (input === undefined) return {};
  if (typeof input === 'string') return { name: checkedString(input, 'name', method) };
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw invalidInput(
      `${method}: the selector must be a migration name or an object { name?, repository? } ({} selects all), not ${describe(input)}.`,
      {
        selector: describe(input),
      },
    );
  }
  const fields = input as Record<string, unknown>;
  const unknown = Object.keys(fields).filter((k) => !SELECTOR_FIELDS.has(k));
  if (unknown.length > 0) {
    throw invalidInput(
      `${method}: unknown selector field ${unknown.map((k) => JSON.stringify(k)).join(', ')}; use name and/or repository.`,
      {
        fields: unknown,
      },
    );
  }
  const name = fields.name === undefined ? undefined : checkedString(fields.name, 'name', method);
  const alias = fields.migration === undefined ? undefined : checkedString(fields.migration, 'migration', method);
  if (name !== undefined && alias !== undefined && name !== alias) {
    throw invalidInput(`${method}: name ${JSON.stringify(name)} and migration ${JSON.stringify(alias)} disagree; give one of them.`, {
      name,
      migration: alias,
    });
  }
  const repository = fields.repository === undefined ? undefined : checkedString(fields.repository, 'repository', method);
  const selector: MigrationSelector = {};
  if ((name ?? alias) !== undefined) selector.name = name ?? alias;
  if (repository !== undefined) selector.repository = repository;
  return selector;
}

/** A required string argument (a migration name, a repository key). Throws INVALID_INPUT naming `field`. */
export function checkedString(value: unknown, field: string, method: string): string {
  if (typeof value === 'string' && value.length > 0) return value;
  throw invalidInput(`${method}: ${field} must be a non-empty string, not ${describe(value)}.`, { field, value: describe(value) });
}

/**
 * What `audit` accepts: AuditFilter, with `since` also as the CLI's text (`1h`, `30m`, `2d`,
 * `1w`, or an ISO 8601 time; see parseSince) and `limit` an integer 1..100000 (the CLI's range).
 */
export interface AuditFilterInput extends Omit<AuditFilter, 'since'> {
  since?: Date | string;
}

const AUDIT_FIELDS = new Set(['migration', 'repository', 'since', 'limit']);
/** The largest `limit` (the same as `bbm audit --limit`). */
export const MAX_AUDIT_LIMIT = 100_000;

/** Resolve an audit filter. Throws INVALID_INPUT for an unknown field, a bad `since` or `limit`. */
export function checkAuditFilter(input: unknown, now: Date = new Date()): AuditFilter {
  if (input === undefined) return {};
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw invalidInput(`audit: the filter must be an object { migration?, repository?, since?, limit? }, not ${describe(input)}.`, {});
  }
  const fields = input as Record<string, unknown>;
  const unknown = Object.keys(fields).filter((k) => !AUDIT_FIELDS.has(k));
  if (unknown.length > 0)
    throw invalidInput(`audit: unknown filter field ${unknown.map((k) => JSON.stringify(k)).join(', ')}.`, { fields: unknown });
  const filter: AuditFilter = {};
  if (fields.migration !== undefined) filter.migration = checkedString(fields.migration, 'migration', 'audit');
  if (fields.repository !== undefined) filter.repository = checkedString(fields.repository, 'repository', 'audit');
  if (fields.since !== undefined) filter.since = checkSince(fields.since, now);
  if (fields.limit !== undefined) {
    const limit = fields.limit;
    if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > MAX_AUDIT_LIMIT) {
      throw invalidInput(`audit: limit must be an integer from 1 to ${MAX_AUDIT_LIMIT}, not ${describe(limit)}.`, {
        limit: describe(limit),
      });
    }
    filter.limit = limit;
  }
  return filter;
}

function checkSince(since: unknown, now: Date): Date {
  if (typeof since === 'string') return parseSince(since, now);
  if (since instanceof Date && !Number.isNaN(since.getTime())) return since;
  throw invalidInput(`audit: since must be a valid Date or text like 1h, 30m, 2d or 2026-11-30T12:00:00Z, not ${describe(since)}.`, {
    since: describe(since),
  });
}

function describe(value: unknown): string {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'an invalid Date' : value.toISOString();
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) return String(value);
  return Array.isArray(value) ? 'an array' : typeof value;
}
