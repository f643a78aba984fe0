// The fast part of the cluster suite (test/faults/cluster.test.ts has all of it): a 3-node Temporal
// cluster on PostgreSQL, where bbm's search attributes live in SQL visibility. Costs about 10 s
// with the binaries built (plus about 30 s to relink them from Go's build cache in a fresh clone).
import { after, before, describe, test } from 'node:test';
import { CLUSTER_SKIP, startTestCluster, type TestCluster } from './faults/lib/cluster';
import { clusterVisibilityDrill } from './faults/lib/cluster-visibility';

describe('a 3-node Temporal cluster on PostgreSQL', { skip: CLUSTER_SKIP && `skipped: ${CLUSTER_SKIP}` }, () => {
  let tc: TestCluster;
  before(async () => {
    tc = await startTestCluster('fast');
  });
  after(() => tc?.stop());

  test('search attributes and list filters work on PostgreSQL visibility (Temporal CLI, bbm repositories list, web UI)', async (t) => {
    const r = await clusterVisibilityDrill(tc, { label: 'cl-vis-fast' });
    t.diagnostic(`${Object.keys(r.queries).length} list queries matched; bbm listed ${r.listed.join(', ')} as completed`);
  });
});
