import path from 'node:path';
import { BUILTIN_WORK } from '../engine/builtin-work';
import { WorkRegistry, type WorkFunction } from '../engine/registry';
import { BbmError, ErrorCode } from '../errors';

/**
 * The work functions a command knows: the built-ins, plus the ones exported by `--work-module`
 * (a .ts or .js file whose default export is an array of WorkFunction, or a WorkRegistry to use
 * as is). The worker and `migrations create` must load the same module.
 */
export function loadWorkRegistry(modulePath?: string): WorkRegistry {
  if (!modulePath) return new WorkRegistry([...BUILTIN_WORK]);
  const resolved = path.resolve(modulePath);
  let loaded: unknown;
  try {
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
