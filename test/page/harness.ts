// A real coordinator (PGlite, the tiny CLIP model in a temporary MODEL_DIR, the page built by Vite into a
// temporary directory), the loopback fixture web (one host with CORS, one without) and Debian's headless
// Chromium, for the page's end-to-end tests and its benchmark.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { build } from 'vite';
import type { CoordinatorConfig } from '../../server/config.ts';
import type { Coordinator } from '../../server/coordinator.ts';
import { enqueueJobs } from '../../server/db/queries/enqueueJobs.ts';
import type { ClipManifest } from '../../shared/clip/manifest.ts';
import { manifestHash } from '../../shared/clip/manifest.ts';
import type { UrlJobItem } from '../../shared/jobs/url.ts';
import { startTestCoordinator } from '../helpers/coordinator.ts';
import { openTestDatabase, type TestDatabase } from '../helpers/db.ts';

export const ROOT = join(import.meta.dirname, '../..');
export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--enable-unsafe-webgpu',
];

/** Builds the page once into a fresh directory (so parallel runs never share client/dist). */
export async function buildPage(): Promise<string> {
  const outDir = await mkdtemp(join(tmpdir(), 'crawlswarm-page-'));
  await build({ configFile: join(ROOT, 'client/vite.config.ts'), logLevel: 'error', build: { outDir, emptyOutDir: true } });
  return outDir;
}

export interface PageRig {
  db: TestDatabase;
  coordinator: Coordinator;
  modelHash: string;
  manifest: ClipManifest;
  close(): Promise<void>;
}

export async function startRig(opts: { clientDir: string; modelDir: string; background?: boolean; config?: Partial<CoordinatorConfig> }): Promise<PageRig> {
  const db = await openTestDatabase('pglite');
  const coordinator = await startTestCoordinator(db.db, {
    background: opts.background ?? false,
    config: { clientDir: opts.clientDir, modelDir: opts.modelDir, heartbeatMs: 2_000, leaderboardCacheMs: 1_000, ...opts.config },
  });
  const manifest = JSON.parse(await readFile(join(opts.modelDir, 'manifest.json'), 'utf8')) as ClipManifest;
  return {
    db,
    coordinator,
    manifest,
    modelHash: await manifestHash(manifest),
    async close() {
      await coordinator.close();
      await db.drop();
    },
  };
}

export async function enqueueUrlJob(rig: PageRig, items: UrlJobItem[]): Promise<number> {
  const [id] = await enqueueJobs(rig.db.db, [{ kind: 'url', payload: { model: { id: rig.manifest.id, hash: rig.modelHash }, items } }]);
  rig.coordinator.announceJobs(['url']);
  return id!;
}

export async function launchChromium(): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  const profile = await mkdtemp(join(tmpdir(), 'crawlswarm-chromium-'));
  const context = await chromium.launchPersistentContext(profile, { executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS, viewport: { width: 1000, height: 900 } });
  return {
    context,
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/** Collects console errors and uncaught exceptions of a page (and of its workers). */
export function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('worker', (w) => w.on('console', (m) => (m.type() === 'error' ? errors.push(`worker console: ${m.text()}`) : undefined)));
  return errors;
}

/** Reads a counter of the page (data-testid) as a number. */
export async function counter(page: Page, testId: string): Promise<number> {
  return Number((await page.getByTestId(testId).textContent())?.trim() ?? NaN);
}
