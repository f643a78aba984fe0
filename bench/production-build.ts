import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

const ROOT = path.join(__dirname, '..');

/**
 * Build bbm as the package does (scripts/build.js: tsc, the SQL files, the prebuilt workflow bundle)
 * into `<dir>/dist`, so the bench runs the same compiled JavaScript as an installed package or the
 * Docker image, and a concurrent `npm pack` (which rebuilds the checkout's dist/) cannot swap it
 * under the running worker. `<dir>` gets links to the checkout's package.json (bbm finds its own
 * folder by it) and node_modules (the runtime dependencies), and a copy of bin/bbm.js, which runs
 * dist/ there because no src/ sits next to it: the package's and the image's entry point.
 * @returns the `bbm` command to run with node (`<dir>/bin/bbm.js`)
 */
export async function buildProduction(dir: string): Promise<string> {
  fs.mkdirSync(dir, { recursive: true });
  for (const name of ['package.json', 'node_modules']) {
    const link = path.join(dir, name);
    if (!fs.existsSync(link)) fs.symlinkSync(path.join(ROOT, name), link);
  }
  await promisify(execFile)(process.execPath, [path.join(ROOT, 'scripts', 'build.js'), '--out-dir', path.join(dir, 'dist')], {
    cwd: ROOT,
  });
  fs.mkdirSync(path.join(dir, 'bin'), { recursive: true });
  fs.copyFileSync(path.join(ROOT, 'bin', 'bbm.js'), path.join(dir, 'bin', 'bbm.js'));
  return path.join(dir, 'bin', 'bbm.js');
}
