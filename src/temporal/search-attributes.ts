/**
 * Custom search attributes bbm keeps current on every repository workflow, so
 * `temporal workflow list --query 'BbmRepository="tenant-42"'` and the web UI can filter by them.
 * The dev server registers them at start; on a real cluster run `bbm setup` (or the
 * `temporal operator search-attribute create` commands in the README).
 */
export const SEARCH_ATTRIBUTES = Object.freeze({
  BbmRepository: 'Keyword',
  BbmMigration: 'Keyword',
  BbmStatus: 'Keyword',
  BbmProgress: 'Double',
} as const);
