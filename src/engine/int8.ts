import { BbmError, ErrorCode } from '../errors';

/**
 * PostgreSQL `bigint` (int8) values in JavaScript. A JS number is exact only up to 2^53, and
 * ids, range bounds and row counts go up to 2^63 - 1, so bbm has one representation rule:
 *
 *  - in every JSON document (Temporal payloads and results, query results, memos, `--json`
 *    output, definition files) such a value is a **decimal string**, e.g. "9007199254740993";
 *  - inside the engine it is a `bigint`, so arithmetic is exact and TypeScript refuses to mix it
 *    with numbers;
 *  - node-postgres already returns int8 as text (bbm installs no type parser), and takes
 *    `bigint` or text parameters as they are.
 *
 * Pure module (no I/O): workflow code imports it too.
 */

export const INT8_MIN = -(2n ** 63n);
export const INT8_MAX = 2n ** 63n - 1n;

/** Inclusive limits of the integer types a range strategy can paginate over. */
export const INTEGER_TYPE_RANGES: Readonly<Record<string, readonly [bigint, bigint]>> = Object.freeze({
  smallint: [-32768n, 32767n] as const,
  integer: [-2147483648n, 2147483647n] as const,
  bigint: [INT8_MIN, INT8_MAX] as const,
});

const DECIMAL = /^-?\d{1,20}$/;

/**
 * An exact integer typed by a user: a `bigint`, a number that is a safe integer, or decimal text
 * ("-42", "9223372036854775807"). Anything else, including a number beyond 2^53 (it was rounded
 * before bbm saw it), is refused with INVALID_RANGE naming `what`.
 */
export function exactInteger(value: unknown, what: string): bigint {
  if (typeof value === 'bigint') return checkInt8(value, what);
  if (typeof value === 'number') {
    if (Number.isSafeInteger(value)) return BigInt(value);
    throw new BbmError(
      ErrorCode.INVALID_RANGE,
      `${what} ${JSON.stringify(value)} is not an exact integer: numbers beyond ${Number.MAX_SAFE_INTEGER} lose precision in JSON and JavaScript, so write it as a decimal string, e.g. "${what}": "9007199254740993".`,
      { field: what },
    );
  }
  if (typeof value === 'string' && DECIMAL.test(value)) return checkInt8(BigInt(value), what);
  throw new BbmError(
    ErrorCode.INVALID_RANGE,
    `${what} must be an integer (a number, or a decimal string for values beyond 2^53); got ${JSON.stringify(value)}.`,
    { field: what },
  );
}

function checkInt8(value: bigint, what: string): bigint {
  if (value < INT8_MIN || value > INT8_MAX) {
    throw new BbmError(ErrorCode.INVALID_RANGE, `${what} ${value} is outside bigint (${INT8_MIN}..${INT8_MAX}).`, { field: what });
  }
  return value;
}

/** A value as node-postgres returns it (int2/int4 as numbers, int8 and numeric as text) as a bigint. */
export function fromDb(value: unknown): bigint {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
  if (typeof value === 'string' && /^-?\d+$/.test(value)) return BigInt(value);
  throw new Error(`expected an integer from the database, got ${JSON.stringify(value)}`);
}

export function fromDbOrNull(value: unknown): bigint | null {
  return value === null || value === undefined ? null : fromDb(value);
}

/** The contract's JSON form of a bigint (or null). */
export function decimal(value: bigint): string;
export function decimal(value: bigint | null): string | null;
export function decimal(value: bigint | null): string | null {
  return value === null ? null : value.toString();
}

/** Exact sum of two decimal strings (or numbers carried by an older run), as a decimal string. */
export function addDecimal(a: string | number, b: string | number): string {
  return (BigInt(a) + BigInt(b)).toString();
}
