/**
 * What goes into the workflow bundle. Its own module so the replay test and the bench can build
 * the same bundle as the worker without loading the activities.
 */
import path from 'node:path';

/** The workflow code's entry point (workflows/index.ts, or its compiled .js in dist/). */
export const WORKFLOWS_PATH = require.resolve('../workflows/index');

/**
 * Modules the workflow sandbox evaluates once and shares between all workflows, instead of once per
 * workflow (with reuseV8Context the SDK gives every workflow its own copy of every module it
 * imports, and deep-freezes the shared ones). zod is the largest library in the bundle (a third
 * of its code) and holds no per-workflow state; sharing it saves every new or replayed workflow
 * evaluating it again (its effect on the bench's peak RSS was within the run-to-run noise). bbm's own schema modules cannot be shared: zod defines a schema's methods
 * lazily, on first use, which a frozen schema refuses (the replay test fails with "object is not
 * extensible").
 */
export const WORKFLOW_PRELOAD_MODULES: readonly string[] = Object.freeze(['zod/mini', 'zod/v4/core']);

/**
 * Options of every workflow bundle bbm builds (the worker, the bench, the tests, replay), for the
 * workflow code at `workflowsPath` (its index): the libraries above and, first, the sandbox's
 * set-up (workflows/sandbox-setup, next to the index), both preloaded.
 */
export function workflowBundleOptions(workflowsPath: string = WORKFLOWS_PATH): { workflowsPath: string; preloadModules: string[] } {
  const setup = path.join(path.dirname(workflowsPath), 'sandbox-setup');
  return { workflowsPath, preloadModules: [setup, ...WORKFLOW_PRELOAD_MODULES] };
}

/**
 * The workflow bundle the package build (scripts/build.js) writes at the top of dist/, next to
 * dist/src/ and dist/workflows/. Bundling at worker start costs seconds and, on the bench, about
 * 70 MB of RSS the worker keeps (webpack's and swc's memory); loading a bundle built once does not.
 */
export const PREBUILT_BUNDLE_FILE = 'workflow-bundle.js';

/**
 * The prebuilt bundle for the bbm module at `moduleFile` (a __filename in src/), when there is
 * one: only compiled JavaScript (dist/src/*.js) looks for it, so a checkout running the TypeScript
 * sources through tsx always bundles its current workflows/, never a stale build's.
 * @returns the bundle's absolute path, or undefined (bundle at start)
 */
export function prebuiltBundlePath(moduleFile: string, exists: (file: string) => boolean): string | undefined {
  if (!moduleFile.endsWith('.js')) return undefined;
  const file = path.join(path.dirname(moduleFile), '..', PREBUILT_BUNDLE_FILE);
  return exists(file) ? file : undefined;
}
