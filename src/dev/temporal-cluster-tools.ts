import path from 'node:path';
import { PROJECT_ROOT } from '../config';
import type { Logger } from '../logger';
import { findOrBuildGoTools, goBinary, locateGoTool, type GoTool } from './go-tools';

/**
 * The Temporal server release bbm's production topology runs. docker-compose.yml uses the
 * images of the same version (test/compose-cluster.test.ts checks that they agree).
 */
export const TEMPORAL_SERVER_VERSION = '1.29.1';
/** The Temporal UI release: the one the Temporal CLI bbm builds embeds, and compose's `temporalio/ui` tag. */
export const TEMPORAL_UI_VERSION = '2.42.1';

/**
 * The folder of the server configuration every node (and compose) starts from: `deploy/temporal`
 * of bbm's own folder, found from the package root rather than from this file, so it is the same
 * folder whether this runs from src/ (a checkout) or from dist/src/ (the installed package, which
 * ships it).
 */
export const TEMPORAL_CONFIG_DIR = path.join(PROJECT_ROOT, 'deploy', 'temporal');
/** `--env` of the server: it reads `<TEMPORAL_CONFIG_DIR>/<env>.yaml`. */
export const TEMPORAL_CONFIG_ENV = 'bbm';

/** The server (all four services in one process), as the `temporalio/server` image ships it. */
export const TEMPORAL_SERVER_TOOL: GoTool = {
  name: 'temporal-server',
  goModule: 'go.temporal.io/server',
  goPackage: 'go.temporal.io/server/cmd/server',
  version: `v${TEMPORAL_SERVER_VERSION}`,
  envVar: 'TEMPORAL_SERVER',
};

/** The SQL schema tool, as `temporalio/admin-tools` ships it; its schemas are compiled in. */
export const TEMPORAL_SQL_TOOL: GoTool = {
  name: 'temporal-sql-tool',
  goModule: 'go.temporal.io/server',
  goPackage: 'go.temporal.io/server/cmd/tools/sql',
  version: `v${TEMPORAL_SERVER_VERSION}`,
  envVar: 'TEMPORAL_SQL_TOOL',
};

/** The web UI server (the `temporalio/ui` image's binary), with the UI's assets compiled in. */
export const TEMPORAL_UI_TOOL: GoTool = {
  name: 'temporal-ui-server',
  goModule: 'github.com/temporalio/ui-server/v2',
  goPackage: 'github.com/temporalio/ui-server/v2/cmd/server',
  version: `v${TEMPORAL_UI_VERSION}`,
  envVar: 'TEMPORAL_UI_SERVER',
};

export interface ClusterBinaries {
  server: string;
  sqlTool: string;
  /** Undefined when the UI was not asked for. */
  uiServer: string | undefined;
}

/**
 * Find or build the binaries a cluster needs (see findOrBuildGoTools for the search order:
 * TEMPORAL_SERVER / TEMPORAL_SQL_TOOL / TEMPORAL_UI_SERVER, PATH, `<toolsDir>/bin`, go install).
 *
 * @throws BbmError TEMPORAL_CLI_MISSING when one is missing and Go is not there to build it.
 */
export async function findOrBuildClusterBinaries(options: {
  /** From the configuration (TEMPORAL_SERVER, TEMPORAL_SQL_TOOL, TEMPORAL_UI_SERVER). */
  explicit: { server: string | undefined; sqlTool: string | undefined; uiServer: string | undefined };
  searchPath: string;
  toolsDir: string;
  logger: Logger;
  ui: boolean;
  build?: boolean;
}): Promise<ClusterBinaries> {
  const tools = [TEMPORAL_SERVER_TOOL, TEMPORAL_SQL_TOOL, ...(options.ui ? [TEMPORAL_UI_TOOL] : [])];
  const explicit = {
    [TEMPORAL_SERVER_TOOL.name]: options.explicit.server,
    [TEMPORAL_SQL_TOOL.name]: options.explicit.sqlTool,
    [TEMPORAL_UI_TOOL.name]: options.explicit.uiServer,
  };
  const found = await findOrBuildGoTools(tools, { ...options, explicit });
  return {
    server: found[TEMPORAL_SERVER_TOOL.name] as string,
    sqlTool: found[TEMPORAL_SQL_TOOL.name] as string,
    uiServer: options.ui ? found[TEMPORAL_UI_TOOL.name] : undefined,
  };
}

/**
 * Why a cluster cannot be had on this machine, or undefined when it can: either every binary is
 * already there, or Go is there to build what is missing. For tests that must skip cleanly.
 */
export function clusterUnavailableReason(options: {
  explicit: { server: string | undefined; sqlTool: string | undefined; uiServer: string | undefined };
  searchPath: string;
  toolsDir: string;
  /** Where Go is installed when not on PATH. @default /usr/local/go/bin/go */
  standardGo?: string;
}): string | undefined {
  if (goBinary(options.searchPath, options.standardGo)) return undefined;
  const explicit = {
    [TEMPORAL_SERVER_TOOL.name]: options.explicit.server,
    [TEMPORAL_SQL_TOOL.name]: options.explicit.sqlTool,
    [TEMPORAL_UI_TOOL.name]: options.explicit.uiServer,
  };
  const missing = [TEMPORAL_SERVER_TOOL, TEMPORAL_SQL_TOOL].filter((tool) => !locateGoTool(tool, { ...options, explicit }));
  if (missing.length === 0) return undefined;
  return `no Go toolchain to build ${missing.map((t) => t.name).join(' and ')} (install Go 1.23+, or set ${missing.map((t) => t.envVar).join(' / ')})`;
}
