import { Writable } from 'node:stream';
import type { LogLevel } from '../../src/config';
import { createLogger, type Logger } from '../../src/logger';

/** A bbm logger at `level` writing JSON lines into `lines`, parsed, as they are written. */
export function captureLogger(level: LogLevel): { lines: Record<string, unknown>[]; logger: Logger } {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { lines, logger: createLogger({ level, pretty: false, destination }) };
}
