import type { Client } from '@temporalio/client';
import type { Command } from 'commander';
import { migrateSchema, schemaVersion } from '../../db/schema';
import { SEARCH_ATTRIBUTES } from '../../contract/search-attributes';
import { BbmError, ErrorCode } from '../../errors';
import { action } from '../action';
import type { CliContext } from '../context';
import { ExitCode } from '../exit-codes';
import { renderFields } from '../output';

/** Temporal's IndexedValueType numbers (temporal.api.enums.v1) for the types bbm uses. */
const INDEXED_VALUE_TYPE = Object.freeze({ Keyword: 2, Double: 4 } as const);

interface SetupOptions {
  database: boolean;
  searchAttributes: boolean;
}

export function registerSetup(program: Command): void {
  program
    .command('setup')
    .description("create or upgrade bbm's schema and register its search attributes in the namespace (idempotent)")
    .option('--no-database', 'skip the Postgres schema')
    .option('--no-search-attributes', 'skip the Temporal search attributes')
    .action(
      action<SetupOptions>(async (ctx, _args, opts) => {
        const report: Record<string, unknown> = {};
        if (opts.database) {
          const pool = await ctx.db();
          const applied = await migrateSchema(pool);
          report.schema = { applied, version: await schemaVersion(pool), database: ctx.describeDatabase() };
        }
        if (opts.searchAttributes) report.searchAttributes = await registerSearchAttributes(ctx, await ctx.client());
        ctx.out.result(report, () => {
          const fields: [string, string][] = [];
          const schema = report.schema as { applied: number[]; version: number; database: string } | undefined;
          if (schema)
            fields.push([
              'schema',
              `version ${schema.version} in ${schema.database}${schema.applied.length ? ` (applied ${schema.applied.join(', ')})` : ' (already current)'}`,
            ]);
          const sa = report.searchAttributes as { added: string[]; existing: string[]; namespace: string } | undefined;
          if (sa)
            fields.push([
              'search attributes',
              `namespace ${sa.namespace}: ${sa.added.length ? `added ${sa.added.join(', ')}` : 'none added'}${sa.existing.length ? `; already there: ${sa.existing.join(', ')}` : ''}`,
            ]);
          return renderFields(fields) + '\nbbm is set up.';
        });
        return ExitCode.OK;
      }),
    );
}

/** Add the ones missing; existing ones (the dev server registers them at start) are left alone. */
async function registerSearchAttributes(
  ctx: CliContext,
  client: Client,
): Promise<{ namespace: string; added: string[]; existing: string[] }> {
  const namespace = ctx.config.temporal.namespace;
  const operator = client.connection.operatorService;
  const { customAttributes } = await operator.listSearchAttributes({ namespace });
  const existing = Object.keys(SEARCH_ATTRIBUTES).filter((name) => customAttributes[name] !== undefined);
  const missing = Object.entries(SEARCH_ATTRIBUTES).filter(([name]) => customAttributes[name] === undefined);
  if (missing.length > 0) {
    try {
      await operator.addSearchAttributes({
        namespace,
        searchAttributes: Object.fromEntries(missing.map(([name, type]) => [name, INDEXED_VALUE_TYPE[type]])),
      });
    } catch (err) {
      if (!/already exists/i.test((err as Error).message)) {
        throw new BbmError(
          ErrorCode.SETUP_FAILED,
          `Could not register search attributes ${missing.map(([n]) => n).join(', ')} in namespace ${namespace}: ${(err as Error).message}. ` +
            'On Temporal Cloud add them in the web UI or with `tcld namespace search-attributes add`; elsewhere: ' +
            missing
              .map(([n, t]) => `temporal operator search-attribute create --namespace ${namespace} --name ${n} --type ${t}`)
              .join(' ; '),
          { namespace, missing: missing.map(([n]) => n) },
          { cause: err },
        );
      }
    }
  }
  return { namespace, added: missing.map(([name]) => name), existing };
}
