/**
 * The contract between bbm's workflows and everything that talks to them: workflow IDs and type
 * names, signal/query/update definitions, search attributes, and input/output types. Workflows,
 * activities, the client side, the CLI and tests import it; it imports nothing impure, so the
 * workflow sandbox can load it.
 */
export * from './ids';
export * from './messages';
export * from './search-attributes';
export * from './sub-batches';
export * from './workflows';
export * from './failures';
