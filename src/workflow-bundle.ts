/**
 * What goes into the workflow bundle. Its own module so the replay test and the bench can build
 * the same bundle as the worker without loading the activities.
 */

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

/** Options of every workflow bundle bbm builds (the worker, the bench, the tests, replay). */
export function workflowBundleOptions(): { workflowsPath: string; preloadModules: string[] } {
  return { workflowsPath: WORKFLOWS_PATH, preloadModules: [...WORKFLOW_PRELOAD_MODULES] };
}
