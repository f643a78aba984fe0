import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import test from 'node:test';

/**
 * Test files run two at a time against one Temporal namespace, and a repository workflow's ID is
 * keyed by the repository alone (src/contract/ids.ts). Two files that use the same repository key
 * can therefore meet each other's workflow: a start fails with ALREADY_RUNNING, or a pause is
 * applied by the other file's workflow. Both happened; this keeps every literal key in one file.
 */
const TEST_DIR = path.join(__dirname, '..');
const KEY_PATTERNS = [
  /repositoryWorkflowId\('([^']+)'\)/g,
  /'--repository',\s*'([^']+)'/g,
  /'repositories',\s*'(?:start|status|cancel)',\s*'([^']+)'/g,
  /\brepository: '([^']+)'/g,
];
/** Keys a file names without ever reaching Temporal, so sharing them is harmless. */
const NEVER_STARTED: Record<string, string> = {
  // cli-migrations.test.ts pauses it with TEMPORAL_ADDRESS pointing nowhere.
  'public.items': 'cli-migrations.test.ts',
};

function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'unit' || e.name === 'consumer' ? [] : testFiles(full);
    return e.name.endsWith('.ts') ? [full] : [];
  });
}

test('no repository key is used by two integration test files, so files running at once never share a workflow', () => {
  const owners = new Map<string, Set<string>>();
  for (const file of testFiles(TEST_DIR)) {
    const text = readFileSync(file, 'utf8');
    for (const pattern of KEY_PATTERNS)
      for (const [, key = ''] of text.matchAll(pattern)) {
        const set = owners.get(key) ?? new Set<string>();
        const relative = path.relative(TEST_DIR, file);
        if (NEVER_STARTED[key] !== relative) set.add(relative);
        owners.set(key, set);
      }
  }
  assert.ok(owners.size > 20, `found only ${owners.size} repository keys: the patterns no longer match the tests`);
  const shared = [...owners].filter(([, files]) => files.size > 1).map(([key, files]) => `${key}: ${[...files].join(', ')}`);
  assert.deepEqual(shared, []);
});
