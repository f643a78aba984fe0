import type { LogLevel as SdkLevel, LogMetadata, Logger as SdkLogger } from '@temporalio/common';
import type { Logger } from './logger';

/**
 * Core warnings that describe a race the SDK already handled, not a problem: a workflow task
 * completed after its workflow closed (a cancel or terminate won the race), or an activity's
 * result sent after it timed out. They go to debug, so `npm start` and a worker's log show only
 * what someone should act on (found by a fresh user: these filled the demo's terminal with stack traces).
 */
const HANDLED_RACES = [/Task not found when completing/i, /Workflow task not found/i, /Activity task not found/i];

const LEVELS: Record<SdkLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = {
  TRACE: 'trace',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
};

/**
 * The Temporal SDK's logger (the TypeScript side and, forwarded, its Rust core) written through
 * bbm's pino logger: one format and one redaction for every line a worker prints. Errors keep
 * their message; their stack goes to debug level only.
 */
export function sdkLogger(logger: Logger): SdkLogger {
  const write = (level: SdkLevel, message: string, meta?: LogMetadata): void => {
    const demoted = level === 'WARN' && HANDLED_RACES.some((re) => re.test(message));
    const target = demoted ? 'debug' : LEVELS[level];
    // The SDK logs every activity and workflow task at debug: build no fields for lines pino drops.
    if (!logger.isLevelEnabled(target)) return;
    const fields: Record<string, unknown> = { component: 'temporal-sdk' };
    for (const [key, value] of Object.entries(meta ?? {})) {
      if (value instanceof Error) {
        fields[key] = value.message;
        if (logger.isLevelEnabled('debug')) fields[`${key}_stack`] = value.stack;
      } else fields[key] = value;
    }
    logger[target](fields, message);
  };
  return {
    log: write,
    trace: (message, meta) => write('TRACE', message, meta),
    debug: (message, meta) => write('DEBUG', message, meta),
    info: (message, meta) => write('INFO', message, meta),
    warn: (message, meta) => write('WARN', message, meta),
    error: (message, meta) => write('ERROR', message, meta),
  };
}
