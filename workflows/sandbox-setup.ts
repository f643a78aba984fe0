/**
 * Evaluated once in the workflow sandbox, before the SDK freezes the sandbox's globals: a preloaded
 * module (src/workflow-bundle.ts workflowBundleOptions), never imported by workflow code.
 *
 * The SDK's promise hook captures a stack trace, mapped through the bundle's source map, for every
 * promise workflow code creates, to answer the `__stack_trace` query (the web UI's "Stack Trace"
 * tab). Several per job: replaying a recorded repository history took about a third less CPU with
 * no frames than with V8's default of 10 (and the first two frames of each are the hook's own, so
 * a few frames would show little). So bbm's workflows keep none: the `__stack_trace` query shows no
 * frames, and an error thrown by workflow code keeps its message and code but no stack. Where a
 * repository is shows in its `progress` query, search attributes and current details instead;
 * activities, where the work and its errors are, keep their stacks (they run outside the sandbox).
 */
export const WORKFLOW_STACK_TRACE_FRAMES = 0;

Error.stackTraceLimit = WORKFLOW_STACK_TRACE_FRAMES;
