import path from 'node:path';
import { BUILTIN_WORK } from '../engine/builtin-work';
import { WorkRegistry, type WorkFunction } from '../engine/registry';
import { BbmError, ErrorCode } from '../errors';

/**
 * The work functions a command knows: the built-ins, plus the ones exported by `--work-module`
 * (a .ts or .js file whose default export is an array of WorkFunction, or a WorkRegistry to use
 * as is). The worker and `migrations create` must load the same module. A TypeScript module is
 * compiled on load by the project's own `tsx` (a devDependency of the user's project: bbm
 * itself ships JavaScript and no TypeScript tooling).
 */
export function loadWorkRegistry(modulePath?: string): WorkRegistry {
  if (!modulePath) return new WorkRegistry([...BUILTIN_WORK]);
  const resolved = path.resolve(modulePath);
  let loaded: unknown;
  try {
    if (/\.[cm]?tsx?$/.test(resolved)) registerTypeScript(resolved);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    loaded = require(resolved);
  } catch (err) {
    throw new BbmError(ErrorCode.CONFIG_INVALID, `Cannot load --work-module ${resolved}: ${(err as Error).message}`, {
      setting: '--work-module',
    });
  }
  const exported = (loaded as { default?: unknown }).default ?? loaded;
  if (exported instanceof WorkRegistry) return exported;
  if (Array.isArray(exported)) return new WorkRegistry([...BUILTIN_WORK, ...(exported as WorkFunction[])]);
  throw new BbmError(
    ErrorCode.CONFIG_INVALID,
    `--work-module ${resolved} must export (default) an array of work functions or a WorkRegistry.`,
    { setting: '--work-module' },
  );
}

/**
 * Make `require` understand TypeScript, once, unless a loader already does (the repository's
 * bin runs under tsx). tsx is looked up from the module's folder and the working directory,
 * i.e. in the user's project, not in bbm's own dependencies.
 */
function registerTypeScript(modulePath: string): void {
  if ('.ts' in require.extensions) return;
  let api: string;
  try {
    api = require.resolve('tsx/cjs/api', { paths: [path.dirname(modulePath), process.cwd()] });
  } catch {
    throw new Error(
      'it is TypeScript, and no `tsx` is installed in your project to load it. Run `npm install --save-dev tsx`, or compile it to JavaScript first.',
    );
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  (require(api) as { register: () => unknown }).register();
}
