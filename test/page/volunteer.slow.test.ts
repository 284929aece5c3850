// The volunteer page end to end: a real coordinator serves the built page and the tiny CLIP model; headless
// Chromium registers, presses Start and works through WAT and URL jobs queued in the database, against the
// loopback fixture web (127.0.0.2 sends CORS headers, 127.0.0.3 does not).
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentTokenizer, createUrlExecutor } from '../../server/agent/executors.ts';
import { loadCoordinatorModel } from '../../server/agent/modelClient.ts';
import { enqueueJobs } from '../../server/db/queries/enqueueJobs.ts';
import { createFetcher } from '../../server/fetch/fetcher.ts';
import type { UrlResult } from '../../shared/jobs/url.ts';
import type { WatResult } from '../../shared/jobs/wat.ts';
import { FIXTURE_IMAGES_DIR, startFixtureWeb, type FixtureWeb } from '../helpers/fixtureWeb.ts';
import { buildTinyModel } from '../helpers/models.ts';
import { WAT_2014_GZ } from '../wat/helpers.ts';
import { buildPage, counter, enqueueUrlJob, launchChromium, ROOT, startRig, watchErrors, type PageRig } from './harness.ts';

const ARTIFACTS = join(ROOT, 'test-results', 'page');
const IMAGES = ['skimage-chelsea.png', 'skimage-coffee.png', 'pillow-hopper.jpg', 'skimage-rocket.jpg', 'skimage-horse.png', 'pillow-hopper.webp'];

let clientDir: string;
let modelDir: string;
let rig: PageRig;
let web: FixtureWeb;
let browser: { context: BrowserContext; close(): Promise<void> };
let page: Page;
let errors: string[];
const modelRequests: string[] = [];
let nextItemId = 1;
const urlJobs: number[] = [];
const similarityGaps: number[] = [];
/**
 * Page vs agent on the same images: both resize with Pillow's BICUBIC (the page in resample.ts, the agent with
 * sharp matched to Pillow), but q8 activation scales depend on which images share a batch (the page's batch
 * lacks the non-CORS images), which moves a similarity by up to ~0.005 (runner.ts: below 0.01).
 */
const SIMILARITY_TOLERANCE = 0.01;

const urlById = new Map<number, string>();
function payloadUrl(id: number): string {
  return urlById.get(id) ?? '';
}

function items(host: number, files: string[], query = '') {
  return files.map((f) => {
    const item = { id: nextItemId++, url: web.urlFor(host, `/images/${f}${query}`), alt: `a photo named ${f.replace(/\..*$/, '').replace(/-/g, ' ')}`, language: 'en' };
    urlById.set(item.id, item.url);
    return item;
  });
}

async function resultsOf(jobId: number): Promise<unknown[]> {
  const rows = await rig.db.db.rows<{ body: unknown }>(sql`select body from results where job_id = ${jobId} order by id`);
  return rows.map((r) => r.body);
}

async function jobState(jobId: number): Promise<string> {
  const rows = await rig.db.db.rows<{ state: string }>(sql`select state from jobs where id = ${jobId}`);
  return rows[0]?.state ?? 'missing';
}

async function waitFor<T>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs = 60_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

beforeAll(async () => {
  const [built, model] = await Promise.all([buildPage(), buildTinyModel({ seed: 3 })]);
  clientDir = built;
  modelDir = model.dir;
  rig = await startRig({ clientDir, modelDir });
  web = await startFixtureWeb({ hosts: [{ ip: '127.0.0.2', cors: true }, { ip: '127.0.0.3', cors: false }] });
  const wat = await readFile(WAT_2014_GZ);
  web.route('/crawl/test.warc.wat.gz', (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': wat.length });
    res.end(wat);
  });
  browser = await launchChromium();
  page = await browser.context.newPage();
  errors = watchErrors(page);
  page.on('request', (r) => {
    if (new URL(r.url()).pathname.startsWith('/models/')) modelRequests.push(r.url());
  });
  await mkdir(ARTIFACTS, { recursive: true });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await web?.close();
  await rig?.close();
  if (similarityGaps.length) console.log(`page vs agent similarity gaps: ${similarityGaps.map((g) => g.toFixed(5)).join(', ')}`);
  if (clientDir) await rm(clientDir, { recursive: true, force: true });
  if (modelDir) await rm(modelDir, { recursive: true, force: true });
});

describe('volunteer page in headless Chromium', () => {
  it('first visit explains, registers, and nothing runs before Start', async () => {
    await page.goto(`${rig.coordinator.url}/?backend=wasm`);
    await expect(page.getByRole('heading', { name: 'What this page does' }).isVisible()).resolves.toBe(true);
    // No worker, no model download before Start.
    await page.waitForTimeout(500);
    expect(page.workers()).toHaveLength(0);
    expect(modelRequests).toHaveLength(0);
    await page.screenshot({ path: join(ARTIFACTS, 'first-visit.png'), fullPage: true });
    // Keyboard only: Tab to the nickname field, type, Tab to the team, Tab to the button, Enter.
    for (let i = 0; i < 10 && (await page.evaluate(() => document.activeElement?.id)) !== 'nickname'; i++) await page.keyboard.press('Tab');
    await page.keyboard.type('pagetester');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('team');
    await page.keyboard.type('testers');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Register and start');
    await page.keyboard.press('Enter');
    await waitFor('the backend line', async () => ((await page.getByTestId('backend').textContent()) ?? '').includes('WASM'));
    const stored = await page.evaluate(() => JSON.parse(localStorage.getItem('crawlswarm.identity') ?? 'null'));
    expect(stored).toMatchObject({ nickname: 'pagetester', team: 'testers' });
    expect(typeof stored.token).toBe('string');
    expect(page.workers()).toHaveLength(1);
    expect(modelRequests.length).toBeGreaterThan(0);
  });

  it('completes a WAT job and two URL jobs; non-CORS hosts come back as cors', async () => {
    const [watJob] = await enqueueJobs(rig.db.db, [{ kind: 'wat', payload: { url: web.urlFor(0, '/crawl/test.warc.wat.gz'), crawl: 'CC-MAIN-2014-35', slice: null, range: null } }]);
    rig.coordinator.announceJobs(['wat']);
    const urlJobA = await enqueueUrlJob(rig, [...items(0, IMAGES.slice(0, 3)), ...items(1, IMAGES.slice(0, 2))]);
    const urlJobB = await enqueueUrlJob(rig, [...items(0, IMAGES.slice(3)), ...items(0, ['../hostile/bomb.png']), ...items(1, IMAGES.slice(3, 4))]);
    urlJobs.push(urlJobA, urlJobB);
    for (const id of [watJob!, urlJobA, urlJobB]) await waitFor(`job ${id} completed`, async () => (await jobState(id)) === 'completed', 90_000);

    const [wat] = (await resultsOf(watJob!)) as WatResult[];
    expect(wat!.summary.records).toBeGreaterThan(0);
    expect(wat!.candidates.length).toBe(wat!.summary.candidates);
    expect(wat!.candidates.length).toBeGreaterThan(0);

    const [a] = (await resultsOf(urlJobA)) as UrlResult[];
    expect(a!.urls).toHaveLength(5);
    const byHost = (r: UrlResult, host: string) => r.urls.filter((u) => payloadUrl(u.id).includes(host));
    expect(byHost(a!, '127.0.0.2').map((u) => u.status)).toEqual(['ok', 'ok', 'ok']);
    expect(byHost(a!, '127.0.0.3').map((u) => u.status)).toEqual(['cors', 'cors']);
    for (const u of byHost(a!, '127.0.0.2')) {
      expect(u.similarity).not.toBeNull();
      expect(u.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(u.width).toBeGreaterThan(0);
    }
    expect(a!.modelHash).toMatch(/^[0-9a-f]{64}$/);
    const [b] = (await resultsOf(urlJobB)) as UrlResult[];
    expect(b!.counts, JSON.stringify(b!.urls.filter((u) => u.status !== 'ok'))).toEqual({ ok: 2, 'too-small': 1, bomb: 1, cors: 1 });

    await waitFor('counters', async () => (await counter(page, 'jobs-done')) >= 3);
    expect(await counter(page, 'images-scored')).toBe(5);
    expect(await page.getByTestId('cors-share').textContent()).toBe('30%'); // 3 of the 10 URLs tried
    expect(await page.getByTestId('rejected').textContent()).toContain('decompression bomb');
    // The network panel (GET /api/stats) catches up within a few seconds of the jobs.
    await waitFor('network stats', async () => (await counter(page, 'network-completed')) >= 3 && (await counter(page, 'network-browsers')) >= 1, 15_000);
    // Credit comes from the coordinator (GET /api/me): the 5 images scored are pending, none verified yet,
    // so the leaderboard, which counts verified work only, is empty.
    await waitFor('credit', async () => (await counter(page, 'credit-pending')) >= 5, 15_000);
    expect(await counter(page, 'credit-pending')).toBe(5);
    expect(await counter(page, 'credit-verified')).toBe(0);
    expect(await page.getByTestId('leaderboard').textContent()).toContain('No verified results yet');
    // What the validator will do once replicas agree: the page's next refresh shows the tab on the board.
    await rig.db.db.rows(sql`update assignments set validate_state = 'valid'
      where volunteer_id = (select id from volunteers where nickname = 'pagetester') and state = 'completed'`);
    await waitFor('the leaderboard row', async () => ((await page.getByTestId('leaderboard').textContent()) ?? '').includes('pagetester'), 30_000);
    expect(await counter(page, 'credit-verified')).toBe(5);
    expect(await page.locator('[data-testid=leaderboard] tr.me td').allTextContents()).toEqual(['1', 'pagetester', 'testers', '5', '3']);
    await page.screenshot({ path: join(ARTIFACTS, 'running-wasm.png'), fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    // usable on a phone: nothing wider than the screen, so no sideways scrolling
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await page.screenshot({ path: join(ARTIFACTS, 'running-phone.png'), fullPage: true });
    await page.setViewportSize({ width: 1000, height: 900 });
  });

  it('WAT slices (size from a CORS HEAD request) cover the file exactly once between them', async () => {
    const url = web.urlFor(0, '/crawl/test.warc.wat.gz');
    const [whole] = await rig.db.db.rows<{ body: WatResult }>(sql`select r.body from results r join jobs j on j.id = r.job_id where j.kind = 'wat' order by r.id limit 1`);
    const ids = await enqueueJobs(rig.db.db, [0, 1, 2].map((index) => ({ kind: 'wat', payload: { url, crawl: null, slice: { index, count: 3 }, range: null } })));
    rig.coordinator.announceJobs(['wat']);
    for (const id of ids) await waitFor(`slice job ${id}`, async () => (await jobState(id)) === 'completed');
    const parts = await Promise.all(ids.map(async (id) => ((await resultsOf(id)) as WatResult[])[0]!));
    const urls = parts.flatMap((p) => p.candidates.map((c) => `${c.url} ${c.alt}`));
    expect(urls.length).toBe(whole!.body.candidates.length);
    expect(new Set(urls)).toEqual(new Set(whole!.body.candidates.map((c) => `${c.url} ${c.alt}`)));
    expect(web.requests.filter((r) => r.path === '/crawl/test.warc.wat.gz').length).toBeGreaterThanOrEqual(4);
  });

  it('a Node agent gives the same statuses and similarities on the same job, and reads what the page could not', async () => {
    const jobId = urlJobs[0]!;
    const [row] = await rig.db.db.rows<{ payload: unknown }>(sql`select payload from jobs where id = ${jobId}`);
    const payload = row!.payload;
    const [page] = (await resultsOf(jobId)) as UrlResult[];
    const cacheDir = await mkdtemp(join(tmpdir(), 'crawlswarm-agent-models-'));
    try {
      const executor = createUrlExecutor({
        fetcher: createFetcher({ allowPrivate: true }),
        model: () => loadCoordinatorModel(rig.coordinator.url, { cacheDir, devices: ['cpu'] }),
        tokenizer: agentTokenizer(),
      });
      const job = { jobId: String(jobId), leaseId: randomUUID(), kind: 'url', payload, leaseDeadline: new Date().toISOString() };
      const outcome = await executor.run(job, { signal: new AbortController().signal, progress: () => {} });
      expect(outcome.ok, JSON.stringify(outcome)).toBe(true);
      const agent = (outcome as { result: UrlResult }).result;
      expect(agent.modelHash).toBe(page!.modelHash); // same model, same variant (q8 on WASM and on CPU)
      for (const a of agent.urls) {
        const p = page!.urls.find((u) => u.id === a.id)!;
        if (p.status === 'cors') {
          expect(a.status).toBe('ok'); // an agent reads cross-origin bytes: these go to agents
          continue;
        }
        expect(a.status).toBe(p.status);
        expect([a.sha256, a.width, a.height, a.bytes]).toEqual([p.sha256, p.width, p.height, p.bytes]);
        similarityGaps.push(Math.abs(a.similarity! - p.similarity!));
      }
      expect(similarityGaps.length).toBe(3);
      expect(Math.max(...similarityGaps)).toBeLessThan(SIMILARITY_TOLERANCE);
    } finally {
      await rm(cacheDir, { recursive: true, force: true });
    }
  });

  it('Pause stops all fetching; Resume continues', async () => {
    const slow = items(0, Array.from({ length: 12 }, (_, i) => IMAGES[i % IMAGES.length]!), '?delayMs=400');
    const job = await enqueueUrlJob(rig, slow);
    await waitFor('the slow job to start fetching', async () => web.requests.some((r) => r.url.includes('delayMs=400')));
    await page.getByTestId('pause').click();
    await waitFor('paused state', async () => ((await page.getByTestId('connection').textContent()) ?? '').includes('Paused'));
    await web.settled();
    const before = web.requests.length;
    await page.waitForTimeout(2_500);
    expect(web.requests.length).toBe(before);
    expect(await jobState(job)).toBe('queued'); // handed back, not failed
    await page.getByTestId('pause').click();
    await waitFor(`job ${job} completed after Resume`, async () => (await jobState(job)) === 'completed', 90_000);
  });

  it('pauses while the tab is hidden, when asked to', async () => {
    const setHidden = (hidden: boolean) =>
      page.evaluate((h) => {
        Object.defineProperty(document, 'hidden', { value: h, configurable: true });
        document.dispatchEvent(new Event('visibilitychange'));
      }, hidden);
    const box = page.getByLabel('Pause when this tab is hidden');
    // off unless the volunteer asks: a hidden tab keeps working
    expect(await box.isChecked()).toBe(false);
    await setHidden(true);
    const before = await enqueueUrlJob(rig, items(0, IMAGES.slice(0, 1)));
    await waitFor(`job ${before} completed while hidden`, async () => (await jobState(before)) === 'completed');
    await setHidden(false);
    await box.check();
    await setHidden(true);
    await waitFor('hidden pause', async () => ((await page.getByTestId('connection').textContent()) ?? '').includes('Paused while the tab is hidden'));
    const job = await enqueueUrlJob(rig, items(0, IMAGES.slice(0, 2)));
    await page.waitForTimeout(1_500);
    expect(await jobState(job)).toBe('queued');
    await setHidden(false);
    await waitFor(`job ${job} completed once visible`, async () => (await jobState(job)) === 'completed');
  });

  it('the download cap slows fetching to the chosen rate', async () => {
    const cap = page.getByLabel('Download cap in KiB/s (0 = no cap)');
    await cap.fill('256');
    await cap.blur(); // the change event applies it
    const files = ['coco-val2017-000000039769.png', 'skimage-coffee.png', 'skimage-chelsea.png'];
    const totalBytes = (await Promise.all(files.map((f) => readFile(join(FIXTURE_IMAGES_DIR, f))))).reduce((a, b) => a + b.length, 0);
    const t0 = performance.now();
    const job = await enqueueUrlJob(rig, items(0, files, '?cap=1'));
    await waitFor(`job ${job} completed under the cap`, async () => (await jobState(job)) === 'completed');
    const seconds = (performance.now() - t0) / 1000;
    // One second of burst, then 256 KiB/s: at least (1.4 MB - 256 KiB) / 256 KiB = 4.4 s.
    expect(seconds).toBeGreaterThan(((totalBytes - 256 * 1024) / (256 * 1024)) * 0.85);
    const stored = JSON.parse((await page.evaluate(() => localStorage.getItem('crawlswarm.settings')))!);
    expect(stored.bandwidthKiBps).toBe(256);
    expect(stored.backend).toBe('auto'); // ?backend=wasm is for this visit only
    await cap.fill('0');
    await cap.blur();
    const t1 = performance.now();
    const free = await enqueueUrlJob(rig, items(0, files, '?cap=0'));
    await waitFor(`job ${free} completed without a cap`, async () => (await jobState(free)) === 'completed');
    expect((performance.now() - t1) / 1000).toBeLessThan(seconds / 2);
  });

  it('"Jobs at once" reconnects with the new capability and runs that many jobs together', async () => {
    const online = () => rig.db.db.rows<{ caps: { maxJobs: number; jobKinds: string[]; backends: string[]; features: string[] } }>(sql`
      select capabilities as caps from workers where kind = 'browser' and disconnected_at is null`);
    expect((await online()).map((w) => w.caps)).toEqual([{ jobKinds: ['wat', 'url'], backends: ['wasm'], features: [], maxJobs: 1 }]);
    await page.getByLabel(/Jobs at once/).focus();
    await page.keyboard.press('ArrowRight'); // keyboard works on the slider: 1 -> 2
    await waitFor('a worker announcing maxJobs 2', async () => {
      const w = await online();
      return w.length === 1 && w[0]!.caps.maxJobs === 2;
    });
    const jobs = [await enqueueUrlJob(rig, items(0, IMAGES.slice(0, 3), '?delayMs=600&j=1')), await enqueueUrlJob(rig, items(0, IMAGES.slice(0, 3), '?delayMs=600&j=2'))];
    let together = 0;
    await waitFor('both jobs completed', async () => {
      const [row] = await rig.db.db.rows<{ n: number }>(sql`select count(*)::int as n from assignments where state = 'leased'`);
      together = Math.max(together, row!.n);
      return (await jobState(jobs[0]!)) === 'completed' && (await jobState(jobs[1]!)) === 'completed';
    });
    expect(together).toBe(2);
    await page.getByLabel(/Jobs at once/).focus();
    await page.keyboard.press('ArrowLeft');
    await waitFor('back to maxJobs 1', async () => (await online())[0]?.caps.maxJobs === 1);
  });

  it('the WASM thread setting restarts the worker with that many threads', async () => {
    const backend = async () => (await page.getByTestId('backend').textContent()) ?? '';
    const cores = await page.evaluate(() => navigator.hardwareConcurrency);
    const words = (n: number) => (n === 1 ? 'WASM, 1 thread' : `WASM, ${n} threads`);
    const auto = Math.max(1, Math.min(4, cores - 1)); // automatic leaves a core free
    const all = Math.min(16, cores);
    expect(await backend()).toContain(words(auto));
    const threads = page.getByLabel(/Processor threads/);
    await threads.focus();
    await page.keyboard.press('End'); // keyboard: all cores
    await waitFor(`${all} threads`, async () => (await backend()).includes(words(all)));
    const job = await enqueueUrlJob(rig, items(0, IMAGES.slice(0, 2), '?threads=all'));
    await waitFor(`job ${job} after the restart`, async () => (await jobState(job)) === 'completed');
    expect(await counter(page, 'jobs-done')).toBeGreaterThan(3); // counters survive the restart
    await threads.focus();
    await page.keyboard.press('Home');
    await waitFor('back to automatic', async () => (await backend()).includes(words(auto)));
  });

  it('a reload does not download the model again', async () => {
    const before = modelRequests.length;
    await page.reload();
    await page.getByRole('button', { name: 'Start' }).click();
    await waitFor('model loaded', async () => ((await page.getByTestId('model-source').textContent().catch(() => '')) ?? '').includes('no download'));
    expect(modelRequests.length).toBe(before);
  });

  it('left on automatic, runs on WebGPU (SwiftShader adapter) where the browser has one', async () => {
    await page.goto(`${rig.coordinator.url}/`);
    expect(await page.evaluate(() => JSON.parse(localStorage.getItem('crawlswarm.settings') ?? '{}').backend)).toBe('auto');
    await page.getByRole('button', { name: 'Start' }).click();
    const line = await waitFor('the WebGPU backend line', async () => {
      const text = (await page.getByTestId('backend').textContent()) ?? '';
      return text.includes('WebGPU') && text;
    });
    // the page names the adapter it got: headless Chromium here only has Google's software one
    expect(line).toMatch(/swiftshader/i);
    const job = await enqueueUrlJob(rig, items(0, IMAGES.slice(0, 2)));
    await waitFor(`job ${job} completed on WebGPU`, async () => (await jobState(job)) === 'completed', 120_000);
    const [r] = (await resultsOf(job)) as UrlResult[];
    expect(r!.counts).toMatchObject({ ok: 2 });
    await page.screenshot({ path: join(ARTIFACTS, 'running-webgpu.png'), fullPage: true });
  });

  it('no console errors', () => {
    expect(errors).toEqual([]);
  });
});

