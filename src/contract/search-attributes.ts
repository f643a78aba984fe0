import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * Custom search attributes bbm keeps current on every repository workflow, so
 * `temporal workflow list --query 'BbmRepository="tenant-42"'` and the web UI can filter by them.
 * The dev server registers them at start; on a real cluster run `bbm setup` (or the
 * `temporal operator search-attribute create` commands in the README).
 *
 * The typed keys are the single source: the name-to-type table that the dev server, `bbm setup`
 * and `bbm doctor` register and check is derived from them.
 */
export const SA = Object.freeze({
  repository: defineSearchAttributeKey('BbmRepository', SearchAttributeType.KEYWORD),
  migration: defineSearchAttributeKey('BbmMigration', SearchAttributeType.KEYWORD),
  status: defineSearchAttributeKey('BbmStatus', SearchAttributeType.KEYWORD),
  progress: defineSearchAttributeKey('BbmProgress', SearchAttributeType.DOUBLE),
});

/** The Temporal CLI's spelling of the attribute types bbm uses (`temporal operator search-attribute create --type`). */
const CLI_TYPE = Object.freeze({ [SearchAttributeType.KEYWORD]: 'Keyword', [SearchAttributeType.DOUBLE]: 'Double' } as const);
export type SearchAttributeCliType = (typeof CLI_TYPE)[keyof typeof CLI_TYPE];

/** Name -> Temporal CLI type of every bbm search attribute, e.g. `{ BbmRepository: 'Keyword', ... }`. */
export const SEARCH_ATTRIBUTES: Readonly<Record<string, SearchAttributeCliType>> = Object.freeze(
  Object.fromEntries(Object.values(SA).map((key) => [key.name, CLI_TYPE[key.type]])),
);
