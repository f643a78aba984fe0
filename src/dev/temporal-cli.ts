import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { BbmError, ErrorCode } from '../errors';
import type { Logger } from '../logger';

/** v1.5.1 is the last tag whose go.mod has no `replace` directives, so `go install` works with it. */
export const TEMPORAL_CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal@v1.5.1';

export interface FindTemporalCliOptions {
  /** TEMPORAL_CLI, if set: used as is. */
  explicitPath: string | undefined;
  /** The project-local tools folder; the binary lives in `<toolsDir>/bin/temporal`. */
  toolsDir: string;
  logger: Logger;
  /** PATH to search. @default process.env.PATH */
  searchPath?: string;
  /** Build with Go when nothing is found. @default true */
  build?: boolean;
}

/**
 * Find the `temporal` binary: TEMPORAL_CLI, then PATH, then the tools folder; otherwise build
 * it with `go install` into the tools folder, so every later run finds it in milliseconds.
 */
export async function findOrBuildTemporalCli(options: FindTemporalCliOptions): Promise<string> {
  if (options.explicitPath) {
    if (!isExecutable(options.explicitPath)) {
      throw new BbmError(
        ErrorCode.TEMPORAL_CLI_MISSING,
        `TEMPORAL_CLI points at ${options.explicitPath}, which is not an executable file. Fix the path or unset TEMPORAL_CLI.`,
      );
    }
    return options.explicitPath;
  }
  const onPath = findOnPath('temporal', options.searchPath ?? process.env.PATH ?? '');
  if (onPath) return onPath;
  const local = path.join(options.toolsDir, 'bin', 'temporal');
  if (isExecutable(local)) return local;
  if (options.build === false) {
    throw new BbmError(ErrorCode.TEMPORAL_CLI_MISSING, 'No temporal binary found (TEMPORAL_CLI, PATH, tools folder).');
  }
  return buildTemporalCli(options.toolsDir, options.logger);
}

async function buildTemporalCli(toolsDir: string, logger: Logger): Promise<string> {
  const go = findOnPath('go', process.env.PATH ?? '') ?? (isExecutable('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : undefined);
  if (!go) {
    throw new BbmError(
      ErrorCode.TEMPORAL_CLI_MISSING,
      'The Temporal CLI was not found and Go is not installed to build it. Install either one:\n' +
        '  - the Temporal CLI: https://docs.temporal.io/cli (then put `temporal` on PATH or set TEMPORAL_CLI=/path/to/temporal)\n' +
        '  - Go 1.23+: https://go.dev/dl (bbm then builds the CLI itself, once)',
    );
  }
  const binDir = path.join(toolsDir, 'bin');
  fs.mkdirSync(binDir, { recursive: true });
  logger.info(
    { module: TEMPORAL_CLI_MODULE, into: binDir },
    'building the Temporal CLI with go install (first run only; a few minutes on 2 cores)',
  );
  const started = Date.now();
  await new Promise<void>((resolve, reject) => {
    const child = spawn(go, ['install', TEMPORAL_CLI_MODULE], {
      env: { ...process.env, GOBIN: binDir },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0
        ? resolve()
        : reject(
            new BbmError(
              ErrorCode.TEMPORAL_CLI_MISSING,
              `go install ${TEMPORAL_CLI_MODULE} failed with exit code ${code}; see the output above.`,
            ),
          ),
    );
  });
  const binary = path.join(binDir, 'temporal');
  logger.info({ duration_s: (Date.now() - started) / 1000, binary }, 'built the Temporal CLI');
  return binary;
}

/** The first executable `name` in the PATH-style list `searchPath`. */
export function findOnPath(name: string, searchPath: string): string | undefined {
  for (const dir of searchPath.split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

export function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}
