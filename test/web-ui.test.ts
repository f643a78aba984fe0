/**
 * The Temporal web UI, in a real headless browser, filters workflows by the BbmRepository search
 * attribute: a repository's workflow is listed under its key, another repository's is not.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { defineMigration } from '../src/engine/definitions';
import { WorkRegistry } from '../src/engine/registry';
import { BUILTIN_WORK } from '../src/engine/builtin-work';
import { repositoryWorkflowId } from '../src/contract/ids';
import { repositoryMigration } from '../workflows/repository';
import { browserSkipReason, launchChromium } from './helpers/browser';
import { createItems, createTestDatabase } from './helpers/db';
import { testEnv } from './helpers/env';
import { startTestWorker } from './helpers/temporal';

const FAST = { minDelayMs: 0, maxDelayMs: 0 };
const SCREENSHOT = path.join('test-artifacts', 'web-ui-workflows.png');

test('the web UI lists a repository workflow filtered by BbmRepository, and not another one', { skip: browserSkipReason() }, async () => {
  const uiUrl = testEnv.uiUrl;
  assert.ok(uiUrl, 'BBM_TEST_UI_URL is not set: run through `npm test`, which starts the Temporal web UI');
  const browser = await launchChromium(); // fails with an install hint when /usr/bin/chromium is missing

  const suffix = randomBytes(4).toString('hex');
  const mine = `webui/repo-${suffix}`;
  const other = `webui/other-${suffix}`;
  const db = await createTestDatabase('webui');
  await createItems(db.pool, 'items', 200);
  const registry = new WorkRegistry([...BUILTIN_WORK]);
  for (const [i, repository] of [mine, other].entries()) {
    await defineMigration(
      { pool: db.pool, registry },
      {
        name: `webui_${suffix}_${i}`,
        repository,
        work: 'increment',
        table: 'items',
        column: 'id',
        targetJobMs: 0,
        batchSize: 100,
        args: { target: 'counter' },
      },
    );
  }
  const worker = await startTestWorker(db, { registry });
  const summaries = await Promise.all(
    [mine, other].map((repository) =>
      worker.client.workflow.execute(repositoryMigration, {
        taskQueue: worker.taskQueue,
        workflowId: repositoryWorkflowId(repository),
        args: [{ repository, knobs: FAST }],
      }),
    ),
  );
  for (const summary of summaries) assert.equal(summary.state, 'finished');
  // Both are in visibility before the browser looks, so the other one's absence means the UI filtered it out.
  const both = `BbmRepository IN ("${mine}", "${other}")`;
  for (const deadline = Date.now() + 30_000; (await worker.client.workflow.count(both)).count < 2;) {
    assert.ok(Date.now() < deadline, `visibility never listed both workflows for ${both}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }

  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  const query = `BbmRepository="${mine}"`;
  const url = `${uiUrl.replace(/\/$/, '')}/namespaces/default/workflows?query=${encodeURIComponent(query)}`;
  // Visibility can lag the workflow's close by a moment: reload until the row shows up.
  const deadline = Date.now() + 60_000;
  for (;;) {
    await page.goto(url, { waitUntil: 'domcontentloaded' });
    try {
      await page.getByText(repositoryWorkflowId(mine), { exact: true }).first().waitFor({ state: 'visible', timeout: 10_000 });
      break;
    } catch (err) {
      if (Date.now() > deadline) throw err;
    }
  }
  assert.equal(
    await page.getByText(repositoryWorkflowId(other)).count(),
    0,
    `${repositoryWorkflowId(other)} must not be listed under ${query}`,
  );

  fs.mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
  await page.screenshot({ path: SCREENSHOT, fullPage: true });
  assert.ok(fs.statSync(SCREENSHOT).size > 0, `${SCREENSHOT} is empty`);
});
