// A new model on the coordinator replaces the old one in the page's IndexedDB: the page downloads the new
// files and deletes the old ones, on its next visit and also while open (when a job names the new model).
// The coordinator is restarted on the same port (IndexedDB is per origin).
import { rm } from 'node:fs/promises';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Coordinator } from '../../server/coordinator.ts';
import type { ClipManifest } from '../../shared/clip/manifest.ts';
import { sql } from 'drizzle-orm';
import { enqueueJobs } from '../../server/db/queries/enqueueJobs.ts';
import { manifestHash } from '../../shared/clip/manifest.ts';
import { startTestCoordinator } from '../helpers/coordinator.ts';
import { startFixtureWeb } from '../helpers/fixtureWeb.ts';
import { buildTinyModel } from '../helpers/models.ts';
import { within } from '../helpers/wait.ts';
import { buildPage, launchChromium, startRig, watchErrors, type PageRig } from './harness.ts';

let clientDir: string;
const modelDirs: string[] = [];
const manifests: ClipManifest[] = [];
let rig: PageRig;
let second: Coordinator | null = null;
let browser: Awaited<ReturnType<typeof launchChromium>>;
let page: Page;
let errors: string[];

const shasOf = (m: ClipManifest) => m.variants.flatMap((v) => [v.vision.sha256, v.text.sha256]);

function cachedKeys(): Promise<string[]> {
  return within('reading the IndexedDB keys', 20_000, page.evaluate(
    () =>
      new Promise<string[]>((resolve, reject) => {
        const open = indexedDB.open('crawlswarm-models');
        open.onerror = () => reject(open.error);
        open.onblocked = () => reject(new Error('IndexedDB open blocked'));
        open.onsuccess = () => {
          const tx = open.result.transaction('files', 'readonly');
          const req = tx.objectStore('files').getAllKeys();
          req.onerror = () => reject(req.error);
          req.onsuccess = () => {
            resolve(req.result.map(String));
            open.result.close();
          };
        };
      }),
  ));
}

async function startAndWaitModel(url: string): Promise<string> {
  await page.goto(`${url}/?backend=wasm`);
  await page.getByRole('button', { name: /Start/ }).click();
  const until = Date.now() + 60_000;
  for (;;) {
    const text = (await page.getByTestId('model-source').textContent({ timeout: 500 }).catch(() => null)) ?? '';
    if (text) return text;
    if (Date.now() > until) throw new Error(`model not loaded: ${await page.locator('main').textContent()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

beforeAll(async () => {
  clientDir = await buildPage();
  for (const seed of [11, 12]) {
    const m = await buildTinyModel({ seed });
    modelDirs.push(m.dir);
    manifests.push(m.manifest);
  }
  rig = await startRig({ clientDir, modelDir: modelDirs[0]! });
  browser = await launchChromium();
  page = await browser.context.newPage();
  errors = watchErrors(page);
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await second?.close();
  await rig?.close();
  for (const d of [clientDir, ...modelDirs]) if (d) await rm(d, { recursive: true, force: true });
});

describe('model update', () => {
  it('downloads the new model and deletes the old files from IndexedDB', async () => {
    await page.goto(`${rig.coordinator.url}/`);
    await page.getByLabel('Nickname').fill('updater');
    await page.getByRole('button', { name: 'Register and start' }).click();
    await page.goto('about:blank');
    const first = await startAndWaitModel(rig.coordinator.url);
    expect(first).toMatch(/no download|downloaded/);
    const before = await cachedKeys();
    expect(before.length).toBeGreaterThan(0);
    expect(before.every((k) => shasOf(manifests[0]!).includes(k))).toBe(true);

    // Same database, same port, another model.
    await page.goto('about:blank');
    const port = Number(new URL(rig.coordinator.url).port);
    await within('closing the first coordinator', 20_000, rig.coordinator.close());
    second = await within('starting the second coordinator', 20_000, startTestCoordinator(rig.db.db, { config: { port, clientDir, modelDir: modelDirs[1]!, heartbeatMs: 2_000 } }));
    expect(second.url).toBe(rig.coordinator.url);
    const text = await startAndWaitModel(second.url);
    expect(text).toContain('downloaded');
    const after = await cachedKeys();
    expect(after.length).toBeGreaterThan(0);
    expect(after.every((k) => shasOf(manifests[1]!).includes(k))).toBe(true);
    expect(after.some((k) => before.includes(k))).toBe(false);
    expect(errors).toEqual([]);
  });

  it('switches models without a reload when a job asks for the coordinator\'s new one', async () => {
    // The page stays open on the second coordinator (model 2); the coordinator restarts cleanly with model 1.
    await page.waitForFunction(() => document.querySelector('[data-testid="connection"]')?.textContent?.includes('Connected'), undefined, { timeout: 30_000 });
    const port = Number(new URL(second!.url).port);
    await within('closing the second coordinator', 20_000, second!.close());
    second = await within('restarting with model 1', 20_000, startTestCoordinator(rig.db.db, { config: { port, clientDir, modelDir: modelDirs[0]!, heartbeatMs: 2_000 } }));
    const web = await within('starting the fixture web', 20_000, startFixtureWeb({ hosts: [{ ip: '127.0.0.2', cors: true }] }));
    try {
      const hash = await manifestHash(manifests[0]!);
      const [job] = await enqueueJobs(rig.db.db, [{ kind: 'url', payload: { model: { id: manifests[0]!.id, hash }, items: [{ id: 1, url: web.urlFor(0, '/images/skimage-coffee.png'), alt: 'a cup of coffee', language: 'en' }] } }]);
      second.announceJobs(['url']);
      const until = Date.now() + 60_000;
      let state = '';
      while (state !== 'completed' && Date.now() < until) {
        [{ state = '' } = {}] = await within('reading the job state', 10_000, rig.db.db.rows<{ state: string }>(sql`select state from jobs where id = ${job}`));
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(state, `job state; the page says: ${await page.locator('main').textContent({ timeout: 5_000 }).catch(() => '?')}`).toBe('completed');
      expect(await page.getByTestId('problems').textContent({ timeout: 10_000 })).toContain('switched to the model');
      const keys = await cachedKeys();
      expect(keys.length).toBeGreaterThan(0);
      expect(keys.every((k) => shasOf(manifests[0]!).includes(k))).toBe(true);
    } finally {
      await within('closing the fixture web', 20_000, web.close());
    }
    expect(errors.filter((e) => !/ERR_CONNECTION_REFUSED|WebSocket connection to .* failed/.test(e))).toEqual([]);
  });
});
