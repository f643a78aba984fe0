import assert from 'node:assert/strict';
import { test } from 'node:test';
import { enqueuerWorkflowId, repositoryFromWorkflowId, repositoryWorkflowId } from '../../src/contract/ids';
import { SA, SEARCH_ATTRIBUTES } from '../../src/contract/search-attributes';

test('a repository workflow ID round-trips to its repository key, and other IDs give undefined', () => {
  assert.equal(repositoryWorkflowId('public.images'), 'bbm-repository:public.images');
  assert.equal(repositoryFromWorkflowId(repositoryWorkflowId('demo/repo-07')), 'demo/repo-07');
  assert.equal(repositoryFromWorkflowId(enqueuerWorkflowId('bbm')), undefined);
});

test('the search-attribute table the servers register is derived from the typed keys', () => {
  assert.deepEqual(
    { ...SEARCH_ATTRIBUTES },
    { BbmRepository: 'Keyword', BbmMigration: 'Keyword', BbmStatus: 'Keyword', BbmProgress: 'Double' },
  );
  assert.deepEqual(
    Object.keys(SEARCH_ATTRIBUTES).sort(),
    Object.values(SA)
      .map((k) => k.name)
      .sort(),
  );
});
