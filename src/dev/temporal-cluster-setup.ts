import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { BbmError, ErrorCode } from '../errors';
import type { Logger } from '../logger';
import { SEARCH_ATTRIBUTES } from '../contract/search-attributes';

/** gRPC status code ALREADY_EXISTS. */
const GRPC_ALREADY_EXISTS = 6;
/** temporal.api.enums.v1.IndexedValueType for the types bbm's search attributes use. */
const INDEXED_VALUE_TYPE = Object.freeze({ Keyword: 2, Double: 4 } as const);

/** A query that names every bbm search attribute: a frontend that accepts it knows them all. */
const PROBE_QUERY = Object.entries(SEARCH_ATTRIBUTES)
  .map(([name, type]) => (type === 'Double' ? `${name} >= 0` : `${name} = 'bbm-probe'`))
  .join(' AND ');

/**
 * Create `namespace` (unless it exists) and register bbm's search attributes in it through the
 * frontend `address`, then wait until every frontend in `frontends` accepts a visibility query
 * on all of them. A new namespace or search attribute reaches the other nodes through their
 * namespace caches (refreshed every few seconds); until then they refuse workflows that set it.
 *
 * @throws BbmError SERVICE_START_FAILED when a frontend still refuses after 120 s.
 */
export async function prepareNamespace(options: {
  address: string;
  frontends: string[];
  namespace: string;
  retentionDays?: number;
  logger: Logger;
}): Promise<void> {
  const { namespace } = options;
  const connection = await Connection.connect({ address: options.address, connectTimeout: '10 seconds' });
  try {
    try {
      await connection.workflowService.registerNamespace({
        namespace,
        workflowExecutionRetentionPeriod: msToTs(`${options.retentionDays ?? 1} days`),
      });
    } catch (err) {
      if ((err as { code?: number }).code !== GRPC_ALREADY_EXISTS) throw err;
    }
    // A namespace just registered is not yet in the cache that addSearchAttributes consults.
    const existing = await retry(`namespace ${namespace}`, () => connection.operatorService.listSearchAttributes({ namespace }));
    const missing = Object.entries(SEARCH_ATTRIBUTES).filter(([name]) => existing.customAttributes?.[name] === undefined);
    if (missing.length > 0) {
      await connection.operatorService.addSearchAttributes({
        namespace,
        searchAttributes: Object.fromEntries(missing.map(([name, type]) => [name, INDEXED_VALUE_TYPE[type]])),
      });
    }
    options.logger.debug({ namespace, added: missing.map(([n]) => n) }, 'namespace and search attributes registered');
  } finally {
    await connection.close();
  }
  await Promise.all(options.frontends.map((frontend) => waitUntilQueryable(frontend, namespace)));
}

async function waitUntilQueryable(frontend: string, namespace: string): Promise<void> {
  const connection = await Connection.connect({ address: frontend, connectTimeout: '10 seconds' });
  try {
    await retry(`search attributes on ${frontend}`, () =>
      connection.workflowService.countWorkflowExecutions({ namespace, query: PROBE_QUERY }),
    );
  } finally {
    await connection.close();
  }
}

async function retry<T>(what: string, fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > deadline)
        throw new BbmError(ErrorCode.SERVICE_START_FAILED, `Temporal cluster: ${what} not ready after 120 s: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}
