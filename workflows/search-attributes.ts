import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/** Typed keys of bbm's custom search attributes (registered by `bbm setup` and the dev server). */
export const SA = Object.freeze({
  repository: defineSearchAttributeKey('BbmRepository', SearchAttributeType.KEYWORD),
  migration: defineSearchAttributeKey('BbmMigration', SearchAttributeType.KEYWORD),
  status: defineSearchAttributeKey('BbmStatus', SearchAttributeType.KEYWORD),
  progress: defineSearchAttributeKey('BbmProgress', SearchAttributeType.DOUBLE),
});
