import { BbmError, ErrorCode } from '../errors';

/**
 * Names a user types (tables, schemas, columns, work function arguments naming columns) follow
 * PostgreSQL's rules, so `--table Items` means what `SELECT * FROM Items` means:
 *  - unquoted: letters, digits, `_` and `$` (not first), folded to lower case (`Items` is `items`);
 *  - in double quotes: kept exactly, any character but NUL, `""` standing for one quote
 *    (`"Items"`, `"a.b"`, `"Counter X"`);
 *  - at most 63 bytes: PostgreSQL would silently truncate a longer name, bbm refuses it.
 * Parsing gives the exact catalog name. A name reaches SQL only through quoteIdent, which always
 * double-quotes it and doubles embedded quotes (quote_ident semantics), so no name can inject SQL.
 */

export interface QualifiedName {
  schema: string;
  name: string;
}

const UNQUOTED = /^[A-Za-z_][A-Za-z0-9_$]*$/;
/** What PostgreSQL prints without quotes; everything else is shown quoted. */
const PLAIN = /^[a-z_][a-z0-9_$]*$/;
const MAX_BYTES = 63;
const RULES =
  'write it unquoted (letters, digits, _ and $, not starting with a digit; folded to lower case) or in double quotes to keep case and other characters exactly';

function invalid(what: string, value: unknown, reason: string): BbmError {
  return new BbmError(ErrorCode.INVALID_IDENTIFIER, `${what} ${JSON.stringify(value)} is not a valid name (${reason}): ${RULES}.`, {
    what,
  });
}

/** An exact name must be non-empty, NUL-free and at most 63 bytes. */
function checkExact(name: string, what: string, typed: unknown): string {
  if (name.length === 0) throw invalid(what, typed, 'empty');
  if (name.includes('\u0000')) throw invalid(what, typed, 'it contains a NUL character');
  if (new TextEncoder().encode(name).length > MAX_BYTES)
    throw invalid(what, typed, `longer than ${MAX_BYTES} bytes, which PostgreSQL would truncate`);
  return name;
}

/** The dot-separated parts of `text`, each an exact name. */
function parseParts(text: string, what: string): string[] {
  const parts: string[] = [];
  let i = 0;
  for (;;) {
    if (text[i] === '"') {
      let name = '';
      let j = i + 1;
      for (;;) {
        if (j >= text.length) throw invalid(what, text, 'a double quote is not closed');
        if (text[j] === '"') {
          if (text[j + 1] !== '"') break;
          name += '"';
          j += 2;
        } else {
          name += text[j];
          j += 1;
        }
      }
      parts.push(checkExact(name, what, text));
      i = j + 1;
    } else {
      const dot = text.indexOf('.', i);
      const raw = text.slice(i, dot < 0 ? text.length : dot);
      if (!UNQUOTED.test(raw)) throw invalid(what, text, raw === '' ? 'an empty part' : `"${raw}" needs double quotes`);
      // PostgreSQL folds ASCII letters only; UNQUOTED admits no others.
      parts.push(checkExact(raw.toLowerCase(), what, text));
      i += raw.length;
    }
    if (i === text.length) return parts;
    if (text[i] !== '.') throw invalid(what, text, 'text after a closing quote');
    i += 1;
  }
}

/** One name as PostgreSQL reads it (see the module comment); throws INVALID_IDENTIFIER. */
export function parseIdentifier(value: unknown, what: string): string {
  if (typeof value !== 'string') throw invalid(what, value, 'not a string');
  const parts = parseParts(value, what);
  if (parts.length !== 1) throw invalid(what, value, 'a dot outside double quotes');
  return parts[0] as string;
}

/** "table" or "schema.table", each part by PostgreSQL's rules; the schema defaults to public. */
export function parseTableName(value: unknown): QualifiedName {
  if (typeof value !== 'string') throw invalid('Table name', value, 'not a string');
  const parts = parseParts(value, 'Table name');
  if (parts.length === 1) return { schema: 'public', name: parts[0] as string };
  if (parts.length === 2) return { schema: parts[0] as string, name: parts[1] as string };
  throw invalid('Table name', value, 'use "table" or "schema.table"');
}

/** An exact name, double-quoted for SQL with embedded quotes doubled. */
export function quoteIdent(name: string): string {
  if (typeof name !== 'string') throw invalid('Identifier', name, 'not a string');
  return `"${checkExact(name, 'Identifier', name).replace(/"/g, '""')}"`;
}

export function quoteTable(table: QualifiedName): string {
  return `${quoteIdent(table.schema)}.${quoteIdent(table.name)}`;
}

/** An exact name as a user would type it: bare when folding keeps it, quoted otherwise. Parses back to itself. */
export function formatIdent(name: string): string {
  return PLAIN.test(name) ? name : quoteIdent(name);
}

/** `schema.table` in the form stored in bbm.migrations and shown to users; parseTableName reads it back exactly. */
export function formatTable(table: QualifiedName): string {
  return `${formatIdent(table.schema)}.${formatIdent(table.name)}`;
}
