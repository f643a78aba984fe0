import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';
import type { LogLevel } from './config';

export type { Logger };

/**
 * Field names that may carry secrets anywhere in a log object. pino removes them before
 * serialisation, so a careless `log.info({ config })` cannot leak a password or an API key.
 */
const REDACT_PATHS = [
  'password',
  '*.password',
  'apiKey',
  '*.apiKey',
  '*.*.apiKey',
  'databaseUrl',
  '*.databaseUrl',
  'connectionString',
  '*.connectionString',
  'connectionOptions',
  '*.connectionOptions',
  'headers.authorization',
];

export interface LoggerOptions {
  level: LogLevel;
  /** Human-readable lines instead of JSON. @default process.stdout.isTTY */
  pretty?: boolean;
  /** Where JSON lines go. @default stdout */
  destination?: NodeJS.WritableStream;
}

/**
 * JSON lines for machines, coloured lines for people at a terminal. Field names follow the
 * anchor system's (job_id, bbm_name, ...) so existing dashboards and greps keep working.
 */
export function createLogger(options: LoggerOptions): Logger {
  const usePretty = options.pretty ?? Boolean(process.stdout.isTTY);
  const stream = usePretty
    ? pretty({ colorize: true, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname', singleLine: true })
    : (options.destination ?? process.stdout);
  // `component` comes from a mixin, not `base`: pino writes base fields and a line's own fields
  // side by side, so the SDK's lines (component temporal-sdk) carried the key twice. A line's own
  // fields win over the mixin's (pino's default merge), so each line has one component.
  return pino(
    { level: options.level, base: null, mixin: () => ({ component: 'bbm' }), redact: { paths: REDACT_PATHS, censor: '***' } },
    stream,
  );
}

/** A logger's levels that lazyChild writes at. */
export type LazyLevel = 'debug' | 'info' | 'warn' | 'error';

/** What lazyChild returns: one function per level, each taking a line's fields and message. */
export type LazyLogger = Record<LazyLevel, (fields: Record<string, unknown>, message: string) => void>;

/**
 * A child of `logger` with the fields `bindings()` returns, made on the first line written at a
 * level `logger` has enabled. pino serialises a child's bindings when the child is made, so a
 * child made per job (executeJob's eleven job fields) costs every job, while at the default level
 * its lines are filtered out. Here a line below the level costs neither the child nor `bindings()`;
 * `bindings()` is called at most once.
 */
export function lazyChild(logger: Logger, bindings: () => Record<string, unknown>): LazyLogger {
  let child: Logger | undefined;
  const write =
    (level: LazyLevel) =>
    (fields: Record<string, unknown>, message: string): void => {
      if (!logger.isLevelEnabled(level)) return;
      child ??= logger.child(bindings());
      child[level](fields, message);
    };
  return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') };
}
