import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { BbmError, ErrorCode } from '../errors';
import type { Logger } from '../logger';
import { findOnPath, isExecutable } from './temporal-cli';

/** A binary the dev tooling builds from a Go module with `go install`, then caches. */
export interface GoTool {
  /** Name it is looked up by on PATH and cached under in `<toolsDir>/bin` (e.g. `temporal-server`). */
  name: string;
  /** Go module that holds it (e.g. `go.temporal.io/server`): `go install` builds one module@version at a time. */
  goModule: string;
  /** Main package inside that module (e.g. `go.temporal.io/server/cmd/server`). */
  goPackage: string;
  /** Module version (e.g. `v1.29.1`). */
  version: string;
  /** Environment variable that may point at a binary to use as is (e.g. `TEMPORAL_SERVER`). */
  envVar: string;
}

export interface FindGoToolsOptions {
  /** Paths given explicitly (from each tool's envVar, resolved in src/config.ts), by tool name. */
  explicit: Readonly<Record<string, string | undefined>>;
  /** PATH to search. */
  searchPath: string;
  /** The project-local tools folder; binaries live in `<toolsDir>/bin`. */
  toolsDir: string;
  logger: Logger;
  /** Build with Go what is not found. @default true */
  build?: boolean;
}

/**
 * Find each tool: its environment variable, then PATH, then `<toolsDir>/bin`; build the missing
 * ones with `go install` into `<toolsDir>/bin` (tools of one module@version in one `go install`,
 * which compiles their shared packages once; Go's build cache makes later builds mostly links).
 * Returns name -> absolute path.
 *
 * @throws BbmError TEMPORAL_CLI_MISSING when an envVar points at no executable, or when a tool
 *   is missing and Go is not installed (or `build` is false); the message says what to install.
 */
export async function findOrBuildGoTools(tools: readonly GoTool[], options: FindGoToolsOptions): Promise<Record<string, string>> {
  const found: Record<string, string> = {};
  const missing: GoTool[] = [];
  for (const tool of tools) {
    const located = locate(tool, options);
    if (located) found[tool.name] = located;
    else missing.push(tool);
  }
  if (missing.length === 0) return found;
  const go = goBinary(options.searchPath);
  if (options.build === false || !go) {
    throw new BbmError(
      ErrorCode.TEMPORAL_CLI_MISSING,
      `${missing.map((t) => t.name).join(', ')} not found (${missing.map((t) => t.envVar).join(', ')}, PATH, ${path.join(options.toolsDir, 'bin')})` +
        (go
          ? '.'
          : ' and Go is not installed to build them. Install Go 1.23+ (https://go.dev/dl) and bbm builds them once, or build them yourself:\n') +
        (go
          ? ''
          : missing
              .map((t) => `  GOBIN=/some/dir go install ${t.goPackage}@${t.version}   # then set ${t.envVar}=/some/dir/${builtName(t)}`)
              .join('\n')),
    );
  }
  const byModule = new Map<string, GoTool[]>();
  for (const tool of missing) {
    const key = `${tool.goModule}@${tool.version}`;
    byModule.set(key, [...(byModule.get(key) ?? []), tool]);
  }
  for (const group of byModule.values()) Object.assign(found, await build(go, group, options));
  return found;
}

/** Go on PATH, or at the standard install location `standard` (often missing from PATH in non-login shells). */
export function goBinary(searchPath: string, standard = '/usr/local/go/bin/go'): string | undefined {
  return findOnPath('go', searchPath) ?? (isExecutable(standard) ? standard : undefined);
}

/** Where `tool` is without building it (envVar path, PATH, `<toolsDir>/bin`), or undefined. */
export function locateGoTool(tool: GoTool, options: Pick<FindGoToolsOptions, 'explicit' | 'searchPath' | 'toolsDir'>): string | undefined {
  return locate(tool, options);
}

function locate(tool: GoTool, options: Pick<FindGoToolsOptions, 'explicit' | 'searchPath' | 'toolsDir'>): string | undefined {
  const explicit = options.explicit[tool.name];
  if (explicit) {
    if (!isExecutable(explicit)) {
      throw new BbmError(
        ErrorCode.TEMPORAL_CLI_MISSING,
        `${tool.envVar} points at ${explicit}, which is not an executable file. Fix the path or unset ${tool.envVar}.`,
      );
    }
    return explicit;
  }
  const cached = path.join(options.toolsDir, 'bin', tool.name);
  return findOnPath(tool.name, options.searchPath) ?? (isExecutable(cached) ? cached : undefined);
}

/** The name `go install` gives a binary: the last element of its package path. */
function builtName(tool: GoTool): string {
  return tool.goPackage.split('/').pop() ?? tool.name;
}

async function build(go: string, tools: GoTool[], options: FindGoToolsOptions): Promise<Record<string, string>> {
  const binDir = path.join(options.toolsDir, 'bin');
  fs.mkdirSync(binDir, { recursive: true });
  // `go install` names binaries after their package (`server`, `sql`): build into a private
  // folder, then move each to its own name, so tools of different modules cannot collide.
  const staging = fs.mkdtempSync(path.join(options.toolsDir, 'go-install-'));
  const modules = tools.map((t) => `${t.goPackage}@${t.version}`);
  options.logger.info({ modules, into: binDir }, 'building with go install (first run only; a few minutes on 2 cores)');
  const started = Date.now();
  try {
    await new Promise<void>((resolve, reject) => {
      const child = spawn(go, ['install', ...modules], {
        env: { ...process.env, GOBIN: staging },
        stdio: ['ignore', 'inherit', 'inherit'],
      });
      child.on('error', reject);
      child.on('exit', (code) =>
        code === 0
          ? resolve()
          : reject(
              new BbmError(
                ErrorCode.TEMPORAL_CLI_MISSING,
                `go install ${modules.join(' ')} failed with exit code ${code}; see the output above.`,
              ),
            ),
      );
    });
    const out: Record<string, string> = {};
    for (const tool of tools) {
      const target = path.join(binDir, tool.name);
      fs.renameSync(path.join(staging, builtName(tool)), target);
      out[tool.name] = target;
    }
    options.logger.info({ duration_s: (Date.now() - started) / 1000, binaries: Object.values(out) }, 'built');
    return out;
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
}
