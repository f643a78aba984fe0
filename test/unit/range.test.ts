import assert from 'node:assert/strict';
import { test } from 'node:test';
import { collectArg, decimalInteger } from '../../src/cli/parse';
import { ErrorCode } from '../../src/errors';
import { addDecimal, decimal, exactInteger, fromDb, INT8_MAX, INT8_MIN } from '../../src/engine/int8';
import { clampToInt8, coverage, nextRange, span } from '../../src/engine/range';

test('the first range starts at min; later ones start right after the previous end', () => {
  assert.deepEqual(nextRange(1n, 100n, null, 10), { start: 1n, end: 100n, lookup: true });
  assert.deepEqual(nextRange(1n, 100n, 50n, 10), { start: 51n, end: 100n, lookup: true });
});

test('a range that can hold at most batch size integers needs no lookup and ends at max', () => {
  assert.deepEqual(nextRange(1n, 100n, 90n, 10), { start: 91n, end: 100n, lookup: false });
  assert.deepEqual(nextRange(1n, 100n, 89n, 10), { start: 90n, end: 100n, lookup: true }, '90..100 spans 11 integers');
  assert.deepEqual(nextRange(5n, 5n, null, 1), { start: 5n, end: 5n, lookup: false });
});

test('past max there is no next range, even when the previous end is the int8 maximum', () => {
  assert.equal(nextRange(1n, 100n, 100n, 10), undefined);
  assert.equal(nextRange(INT8_MIN, INT8_MAX, INT8_MAX, 1), undefined);
});

test('range arithmetic is exact beyond 2^53 and across the whole int8 range', () => {
  const above = 9007199254740993n;
  assert.deepEqual(nextRange(1n, above + 9n, above + 2n, 3), { start: above + 3n, end: above + 9n, lookup: true });
  assert.equal(span(INT8_MIN, INT8_MAX), 2n ** 64n);
  assert.equal(span(above, above), 1n);
  assert.equal(nextRange(INT8_MIN, INT8_MAX, null, 1_000_000)?.lookup, true);
  assert.equal(nextRange(INT8_MAX - 5n, INT8_MAX, null, 6)?.lookup, false, 'no overflow when start + batch size passes INT8_MAX');
});

test('coverage is a display fraction from 0 to 1, also for spans beyond int8', () => {
  assert.equal(coverage(0n, 1n, 100n), 0);
  assert.equal(coverage(50n, 1n, 100n), 0.5);
  assert.equal(coverage(2n ** 64n, INT8_MIN, INT8_MAX), 1);
  assert.equal(coverage(200n, 1n, 100n), 1, 'never above 1');
});

test('estimates saturate at the int8 maximum instead of overflowing', () => {
  assert.equal(clampToInt8(2n ** 64n), INT8_MAX);
  assert.equal(clampToInt8(42n), 42n);
});

test('exactInteger takes bigints, safe numbers and decimal text, and refuses anything that is not exact', () => {
  assert.equal(exactInteger(5, 'x'), 5n);
  assert.equal(exactInteger('9007199254740993', 'x'), 9007199254740993n);
  assert.equal(exactInteger('-9223372036854775808', 'x'), INT8_MIN);
  assert.equal(exactInteger(INT8_MAX, 'x'), INT8_MAX);
  for (const bad of [
    2 ** 53,
    1.5,
    Number.NaN,
    '1.0',
    '1e3',
    ' 1',
    '',
    '0x10',
    '9223372036854775808',
    '-9223372036854775809',
    null,
    true,
    {},
  ]) {
    assert.throws(() => exactInteger(bad, 'maxValue'), { code: ErrorCode.INVALID_RANGE }, String(bad));
  }
  assert.throws(() => exactInteger(2 ** 60, 'maxValue'), /write it as a decimal string/);
});

test('database values and decimal strings convert without losing digits', () => {
  assert.equal(fromDb('9223372036854775807'), INT8_MAX);
  assert.equal(fromDb(32767), 32767n);
  assert.throws(() => fromDb(2 ** 60));
  assert.equal(decimal(INT8_MIN), '-9223372036854775808');
  assert.equal(decimal(null), null);
  assert.equal(addDecimal('9007199254740993', '2'), '9007199254740995');
  assert.equal(addDecimal(7, '9223372036854775800'), '9223372036854775807', 'a number carried by an older run adds exactly');
});

test('CLI range flags keep their digits, and --arg keeps integers beyond 2^53 as decimal text', () => {
  const maxValue = decimalInteger('--max-value');
  assert.equal(maxValue('9223372036854775807'), '9223372036854775807');
  assert.equal(maxValue(' -9007199254740993 '), '-9007199254740993');
  for (const bad of ['1e3', '0x10', '12.0', '', 'abc', '12345678901234567890', '9'.repeat(40)])
    assert.throws(() => maxValue(bad), { code: 'INVALID_RANGE' }, JSON.stringify(bad));
  assert.deepEqual(collectArg('n=9007199254740993'), { n: '9007199254740993' });
  assert.deepEqual(collectArg('n=42', { a: 1 }), { a: 1, n: 42 });
  assert.deepEqual(collectArg('r=0.5'), { r: 0.5 });
});
