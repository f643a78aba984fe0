// ESLint (flat config) with typescript-eslint. The type-aware promise rules run everywhere; the
// workflow folder also gets the Temporal sandbox rules, so a non-deterministic import cannot land.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];

export default tseslint.config(
  {
    ignores: [
      'node_modules/**',
      'dist/**',
      '.tools/**',
      '.data/**',
      'test-artifacts/**',
      'bin/**',
      'scripts/**',
      'test/consumer/**',
      'eslint.config.mjs',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // node:test's test() and describe() return promises the runner itself awaits.
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'describe', 'it', 'suite'] }] },
      ],
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports', disallowTypeAnnotations: false }],
      'no-console': 'off',
    },
  },
  {
    // Workflow code runs in Temporal's deterministic sandbox: no I/O, no Node built-ins, no
    // service modules. Activities and other impure modules may be imported for their types only.
    files: ['workflows/**/*.ts'],
    rules: {
      'no-console': 'error',
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [
            ...nodeBuiltins.map((name) => ({ name, message: 'Workflow code must not use Node built-ins (Temporal sandbox).' })),
            { name: 'pg', message: 'Workflows do no I/O: call an activity.' },
            { name: '@temporalio/client', message: 'Use @temporalio/workflow inside workflows.' },
            { name: '@temporalio/worker', message: 'Use @temporalio/workflow inside workflows.' },
            { name: '@temporalio/activity', message: 'Use @temporalio/workflow inside workflows.' },
          ],
          patterns: [
            {
              // Value imports only from the pure modules named here; any other bbm module type-only.
              regex:
                '^\\.\\./(activities|src/(?!contract(/|$)|knobs$|errors$|engine/constants$|engine/int8$|enqueuer/policy$|health/format$))',
              allowTypeImports: true,
              message:
                'Workflows import impure modules for their types only (import type); pure rules live in src/contract, src/knobs, src/errors.',
            },
          ],
        },
      ],
      'no-restricted-properties': [
        'error',
        { object: 'Math', property: 'random', message: 'Draw randomness in an activity (or use workflow uuid4).' },
        {
          object: 'Date',
          property: 'now',
          message: 'Read time from the workflow clock deliberately, or from the database in an activity.',
        },
      ],
    },
  },
);
