import { BbmError, ErrorCode } from '../errors';

/**
 * Names that reach SQL are never concatenated raw: they must be plain identifiers (letters,
 * digits, underscore, not starting with a digit, at most 63 bytes) and are always double-quoted.
 * Anything else, including quotes, dots inside a part, spaces or semicolons, is refused.
 */
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

export interface QualifiedName {
  schema: string;
  name: string;
}

export function assertIdentifier(value: unknown, what: string): string {
  if (typeof value !== 'string' || !IDENTIFIER.test(value)) {
    throw new BbmError(
      ErrorCode.INVALID_IDENTIFIER,
      `${what} ${JSON.stringify(value)} is not a valid identifier: use letters, digits and underscores (not starting with a digit, at most 63 characters).`,
      { what },
    );
  }
  return value;
}

/** "schema.table" or "table" (schema defaults to public). */
export function parseTableName(value: unknown): QualifiedName {
  if (typeof value !== 'string') return { schema: 'public', name: assertIdentifier(value, 'Table name') };
  const parts = value.split('.');
  if (parts.length === 1) return { schema: 'public', name: assertIdentifier(parts[0], 'Table name') };
  if (parts.length === 2) return { schema: assertIdentifier(parts[0], 'Schema name'), name: assertIdentifier(parts[1], 'Table name') };
  throw new BbmError(ErrorCode.INVALID_IDENTIFIER, `Table name ${JSON.stringify(value)} must be "table" or "schema.table".`, {
    what: 'Table name',
  });
}

export function quoteIdent(identifier: string): string {
  return `"${assertIdentifier(identifier, 'Identifier')}"`;
}

export function quoteTable(table: QualifiedName): string {
  return `${quoteIdent(table.schema)}.${quoteIdent(table.name)}`;
}

export function formatTable(table: QualifiedName): string {
  return `${table.schema}.${table.name}`;
}
