import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { parseProcStatus, promByLabel, promHistogram, promSamples } from '../../bench/proc-memory';
import { PREBUILT_BUNDLE_FILE, prebuiltBundlePath } from '../../src/workflow-bundle';

const STATUS = [
  'Name:\tnode',
  'VmPeak:\t 1300000 kB',
  'VmHWM:\t  350000 kB',
  'VmRSS:\t  300000 kB',
  'RssAnon:\t  240000 kB',
  'RssFile:\t   60000 kB',
  'Threads:\t12',
].join('\n');

test('the bench reads the RSS, its high-water mark and its anonymous and file parts from /proc status in bytes', () => {
  assert.deepEqual(parseProcStatus(STATUS), { rss: 300000 * 1024, peak: 350000 * 1024, anon: 240000 * 1024, file: 60000 * 1024 });
});

test('a status without VmRSS gives no figure, and a missing high-water mark falls back to the RSS', () => {
  assert.equal(parseProcStatus('Name:\tnode\nState:\tZ (zombie)\n'), undefined);
  assert.deepEqual(parseProcStatus('VmRSS:\t 1000 kB\n'), { rss: 1024000, peak: 1024000, anon: 0, file: 0 });
});

test("the bench picks the named unlabelled samples out of the worker's /metrics and skips comments and labelled ones", () => {
  const text = [
    '# HELP bbm_nodejs_heap_size_used_bytes Process heap size used from Node.js in bytes.',
    '# TYPE bbm_nodejs_heap_size_used_bytes gauge',
    'bbm_nodejs_heap_size_used_bytes 52428800',
    'bbm_nodejs_heap_space_size_used_bytes{space="old"} 1',
    'bbm_nodejs_external_memory_bytes 4194304',
    'bbm_jobs_total 7',
  ].join('\n');
  assert.deepEqual(
    promSamples(text, ['bbm_nodejs_heap_size_used_bytes', 'bbm_nodejs_external_memory_bytes', 'bbm_nodejs_heap_size_total_bytes']),
    {
      bbm_nodejs_heap_size_used_bytes: 52428800,
      bbm_nodejs_external_memory_bytes: 4194304,
    },
  );
});

test('compiled code loads the workflow bundle built next to dist/src, and TypeScript sources never do', () => {
  const dist = path.join(path.sep, 'app', 'dist');
  const bundle = path.join(dist, PREBUILT_BUNDLE_FILE);
  const all = (): boolean => true;
  assert.equal(
    prebuiltBundlePath(path.join(dist, 'src', 'worker.js'), (f) => f === bundle),
    bundle,
  );
  assert.equal(
    prebuiltBundlePath(path.join(dist, 'src', 'worker.js'), () => false),
    undefined,
  );
  assert.equal(prebuiltBundlePath(path.join(path.sep, 'app', 'src', 'worker.ts'), all), undefined);
});

test('promByLabel sums a labelled counter per label value and skips other metrics and unlabelled samples', () => {
  const text = [
    '# HELP bbm_run_ahead_total How run-aheads ended.',
    '# TYPE bbm_run_ahead_total counter',
    'bbm_run_ahead_total{outcome="claimed"} 1990',
    'bbm_run_ahead_total{outcome="abandoned"} 12',
    'bbm_run_ahead_total{repository="r",outcome="claimed"} 3',
    'bbm_run_ahead_total 7',
    'bbm_jobs_total{outcome="claimed"} 99',
  ].join('\n');
  assert.deepEqual(promByLabel(text, 'bbm_run_ahead_total', 'outcome'), { claimed: 1993, abandoned: 12 });
  assert.deepEqual(promByLabel(text, 'bbm_missing_total', 'outcome'), {});
});

test('promHistogram reads an unlabelled histogram: its count, its sum and the observations that were exactly 0', () => {
  const text = [
    '# TYPE bbm_run_ahead_claim_wait_seconds histogram',
    'bbm_run_ahead_claim_wait_seconds_bucket{le="0"} 40',
    'bbm_run_ahead_claim_wait_seconds_bucket{le="0.0005"} 52',
    'bbm_run_ahead_claim_wait_seconds_bucket{le="+Inf"} 100',
    'bbm_run_ahead_claim_wait_seconds_sum 0.25',
    'bbm_run_ahead_claim_wait_seconds_count 100',
    'bbm_query_duration_seconds_count{operation="find"} 9',
  ].join('\n');
  assert.deepEqual(promHistogram(text, 'bbm_run_ahead_claim_wait_seconds'), { count: 100, sum: 0.25, zero: 40 });
  assert.deepEqual(promHistogram(text, 'bbm_missing_seconds'), { count: 0, sum: 0, zero: 0 });
});
