import * as z from 'zod/mini';
import type { $ZodIssue, $ZodShape } from 'zod/v4/core';
import { ErrorCode } from '../errors';

/**
 * The building blocks of bbm's message schemas (zod's functional "mini" API, which the workflow
 * sandbox evaluates several times faster than the chained classic API: see the README) and the one place that turns a zod
 * failure into bbm's refusal: a stable code and a message that names the field, what it must
 * be, and what was given. Pure module: the workflow sandbox loads it.
 *
 * Every leaf helper here carries its own "must be ..." text, so a message never falls back to
 * zod's generic wording; every object helper names the unknown keys and the accepted ones.
 */

/** A refusal as plain data; callers turn it into a BbmError or a non-retryable ApplicationFailure. */
export interface Problem {
  code: ErrorCode;
  message: string;
  /** Where the first issue is, e.g. `['knobs', 'maxJobPerBatch']`; `[]` for the message itself. */
  path: (string | number)[];
}

interface ObjectText {
  /** What one unknown key is called in the message: "knob", "wake request field"... */
  unknown: string;
  /** What the whole value must be, e.g. 'a JSON object like {"capacity":5}'. */
  expected: string;
}

function objectError(shape: $ZodShape, text: ObjectText) {
  return (issue: { code?: string; keys?: string[] }): string | undefined => {
    if (issue.code === 'unrecognized_keys') {
      const keys = issue.keys ?? [];
      return `unknown ${text.unknown}${keys.length > 1 ? 's' : ''} ${keys.map((k) => JSON.stringify(k)).join(', ')}; accepted: ${Object.keys(shape).join(', ') || 'none'}`;
    }
    return issue.code === 'invalid_type' ? `must be ${text.expected}` : undefined;
  };
}

/** A message that refuses unknown keys: its one schema, from which the accepted keys are listed. */
export function message<S extends $ZodShape>(shape: S, text: ObjectText) {
  return z.strictObject(shape, { error: objectError(shape, text) });
}

/**
 * State bbm writes for itself (`carried` across continue-as-new). The fields it reads are
 * checked, unknown ones are let through: a run written by a newer worker during a rolling deploy
 * must not fail on an older one.
 */
export function tolerant<S extends $ZodShape>(shape: S, text: ObjectText) {
  return z.object(shape, { error: objectError(shape, text) });
}

/** An integer in [lo, hi]; `text` replaces the default "an integer from lo to hi". */
export function intIn(lo: number, hi: number, text = `an integer from ${lo} to ${hi}`) {
  const error = `must be ${text}`;
  return z.int({ error }).check(z.minimum(lo, { error }), z.maximum(hi, { error }));
}

/** A count or id that fits a JavaScript number exactly (>= 0). */
export function count() {
  return intIn(0, Number.MAX_SAFE_INTEGER, 'a whole number (0 or more)');
}

export function bool() {
  return z.boolean({ error: 'must be true or false' });
}

/** A string of at most `max` characters; `nonEmpty` refuses "". */
export function text(max = 200, nonEmpty = false) {
  const error = `must be a ${nonEmpty ? 'non-empty ' : ''}string of at most ${max} characters`;
  return z.string({ error }).check(z.minLength(nonEmpty ? 1 : 0, { error }), z.maxLength(max, { error }));
}

/**
 * A PostgreSQL bigint as a decimal string (the one representation in JSON; see
 * src/engine/int8.ts), e.g. "9007199254740993". `nonNegative` for ids, counts and tokens.
 */
export function decimal(nonNegative = false) {
  return matching(nonNegative ? /^\d{1,19}$/ : /^-?\d{1,19}$/, `a decimal integer string (bigint), e.g. "42"`);
}

/** A string matching `pattern`, described by `what` ("a repository key (letters, digits...)"). */
export function matching(pattern: RegExp, what: string) {
  const error = `must be ${what}`;
  return z.string({ error }).check(z.regex(pattern, { error }));
}

/** One of the listed strings. */
export function oneOf<const T extends readonly [string, ...string[]]>(values: T, what = values.map((v) => JSON.stringify(v)).join(', ')) {
  return z.enum(values, { error: `must be one of ${what}` });
}

/** An array of `item`, at most `max` long. */
export function list<T extends z.ZodMiniType>(item: T, max = 100_000) {
  const error = `must be a list (at most ${max} items)`;
  return z.array(item, { error }).check(z.maxLength(max, { error }));
}

const MAX_ISSUES = 3;

/**
 * Check `value` against `schema`. Returns undefined when it fits, else a Problem whose message
 * lists up to three issues, e.g.
 * `unknown repositoryMigration input field "batchSize"; accepted: repository, knobs, retryFailed, carried`
 * or `knobs.maxJobPerBatch must be an integer from 1 to 1000; got 0`.
 * The code is INVALID_INPUT unless `codes` maps the first issue's top-level field to another.
 *
 * @param subject names the value itself in messages about it as a whole ("The setCapacity request").
 */
export function problemOf(
  schema: z.ZodMiniType,
  value: unknown,
  subject: string,
  codes: Partial<Record<string, ErrorCode>> = {},
): Problem | undefined {
  const result = schema.safeParse(value, { reportInput: true });
  if (result.success) return undefined;
  // Unknown keys first: a misspelt field is the likeliest cause of the other issues too.
  const issues = [...result.error.issues].sort((a, b) => Number(b.code === 'unrecognized_keys') - Number(a.code === 'unrecognized_keys'));
  const path = (issues[0]?.path ?? []).map((p) => (typeof p === 'number' ? p : String(p)));
  const parts = issues.slice(0, MAX_ISSUES).map((issue) => describe(issue, subject));
  if (issues.length > MAX_ISSUES) parts.push(`and ${issues.length - MAX_ISSUES} more`);
  return { code: codes[String(path[0])] ?? ErrorCode.INVALID_INPUT, message: parts.join('; '), path };
}

function describe(issue: $ZodIssue, subject: string): string {
  const where = issue.path.length > 0 ? issue.path.map(String).join('.') : subject;
  if (issue.code === 'unrecognized_keys') return issue.path.length > 0 ? `${where}: ${issue.message}` : issue.message;
  const input = (issue as { input?: unknown }).input;
  if (issue.code === 'invalid_type' && input === undefined) return `${where} ${issue.message}; it is missing`;
  return `${where} ${issue.message}; got ${show(input)}`;
}

function show(value: unknown): string {
  const s = JSON.stringify(value) ?? String(value);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}
