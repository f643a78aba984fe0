/**
 * The BBM_TEST_* variables test/run.ts sets for every test file, read in one place. A required
 * one that is missing means the file was run outside `npm test`, which starts the services.
 */

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run tests through \`npm test\` (test/run.ts), which starts the services.`);
  return value;
}

function optional(name: string): string | undefined {
  return process.env[name] || undefined;
}

export const testEnv = Object.freeze({
  /** Maintenance database URL of the run's Postgres: test databases are created through it. */
  get adminUrl(): string {
    return required('BBM_TEST_ADMIN_URL');
  },
  /** Database at the latest bbm schema that each test database is copied from. */
  get templateDb(): string {
    return required('BBM_TEST_TEMPLATE_DB');
  },
  /** The workflow bundle built once per run (test workers load it instead of bundling again). */
  get workflowBundle(): string {
    return required('BBM_TEST_WORKFLOW_BUNDLE');
  },
  /** The same, or undefined outside `npm test` (a worker process started by hand bundles the workflows itself). */
  get workflowBundleIfBuilt(): string | undefined {
    return optional('BBM_TEST_WORKFLOW_BUNDLE');
  },
  /** The run's `temporal` binary. */
  get temporalCli(): string | undefined {
    return optional('BBM_TEST_TEMPORAL_CLI');
  },
  /** Base URL of the run's Temporal web UI, when it started one. */
  get uiUrl(): string | undefined {
    return optional('BBM_TEST_UI_URL');
  },
  /** Log level of in-process test workers. @default "silent" */
  get logLevel(): string {
    return optional('BBM_TEST_LOG_LEVEL') ?? 'silent';
  },
  /** Repositories of the enqueuer load test. @default 200 */
  get enqueuerRepositories(): number {
    return Number(optional('BBM_TEST_ENQUEUER_REPOSITORIES') ?? 200);
  },
});
