import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ErrorCode } from '../../src/errors';
import { formatIdent, formatTable, parseIdentifier, parseTableName, quoteIdent, quoteTable } from '../../src/engine/identifiers';

test('unquoted names fold to lower case; quoted names are kept exactly, with "" standing for a quote', () => {
  assert.equal(parseIdentifier('Items', 'x'), 'items');
  assert.equal(parseIdentifier('ITEMS_2$', 'x'), 'items_2$');
  assert.equal(parseIdentifier('"Items"', 'x'), 'Items');
  assert.equal(parseIdentifier('"Counter X"', 'x'), 'Counter X');
  assert.equal(parseIdentifier('"say ""hi"""', 'x'), 'say "hi"');
  assert.equal(parseIdentifier('"a.b"', 'x'), 'a.b');
  assert.equal(parseIdentifier('"é"', 'x'), 'é');
});

test('table names split on dots outside quotes, defaulting to the public schema', () => {
  assert.deepEqual(parseTableName('items'), { schema: 'public', name: 'items' });
  assert.deepEqual(parseTableName('MySchema.Items'), { schema: 'myschema', name: 'items' });
  assert.deepEqual(parseTableName('"MySchema"."Items"'), { schema: 'MySchema', name: 'Items' });
  assert.deepEqual(parseTableName('"a.b"'), { schema: 'public', name: 'a.b' });
  assert.deepEqual(parseTableName('"Sales"."Q1.items"'), { schema: 'Sales', name: 'Q1.items' });
  assert.deepEqual(parseTableName('sales."Q1"'), { schema: 'sales', name: 'Q1' });
});

test('names that break the rules are refused with INVALID_IDENTIFIER', () => {
  const bad = [
    '',
    '"',
    '"a',
    'a"',
    '""',
    '"a"b',
    'a b',
    '1a',
    'a;',
    'a--',
    'a..b',
    '.a',
    'a.',
    'a.b.c',
    `"${'x'.repeat(64)}"`,
    `"${'é'.repeat(32)}"`,
    '"a\u0000"',
  ];
  for (const value of bad) assert.throws(() => parseTableName(value), { code: ErrorCode.INVALID_IDENTIFIER }, JSON.stringify(value));
  assert.throws(() => parseIdentifier('a.b', 'Column name'), { code: ErrorCode.INVALID_IDENTIFIER });
  assert.throws(() => parseIdentifier(42, 'Column name'), { code: ErrorCode.INVALID_IDENTIFIER });
  assert.equal(parseIdentifier(`"${'x'.repeat(63)}"`, 'x').length, 63, '63 bytes is the limit, not past it');
});

test('quoteIdent always double-quotes and doubles embedded quotes, so no name can close the quote', () => {
  assert.equal(quoteIdent('items'), '"items"');
  assert.equal(quoteIdent('a"; DROP TABLE x; --'), '"a""; DROP TABLE x; --"');
  assert.equal(quoteTable({ schema: 'My', name: 'a.b' }), '"My"."a.b"');
  assert.throws(() => quoteIdent(''), { code: ErrorCode.INVALID_IDENTIFIER });
});

test('formatted names are bare when folding keeps them, quoted otherwise, and parse back to themselves', () => {
  assert.equal(formatIdent('items'), 'items');
  assert.equal(formatIdent('Items'), '"Items"');
  assert.equal(formatTable({ schema: 'public', name: 'a.b' }), 'public."a.b"');
  for (const table of [
    { schema: 'public', name: 'items' },
    { schema: 'MySchema', name: 'Items' },
    { schema: 'x', name: 'say "hi"' },
    { schema: 'Sales', name: 'Q1.items' },
  ]) {
    assert.deepEqual(parseTableName(formatTable(table)), table);
  }
});
