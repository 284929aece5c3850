// The whole crawl path with a browser tab in it: the page reads a WAT file (CORS host), the coordinator turns
// its candidates into URL jobs, the page scores the images it may read and reports the others as `cors`; those
// go back to the packer flagged for agents that can fetch cross-origin, and a Node agent finishes them.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentTokenizer, createUrlExecutor } from '../../server/agent/executors.ts';
import { loadCoordinatorModel } from '../../server/agent/modelClient.ts';
import { enqueueJobs } from '../../server/db/queries/enqueueJobs.ts';
import { createFetcher } from '../../server/fetch/fetcher.ts';
import { WorkClient } from '../../shared/client/workClient.ts';
import { CROSS_ORIGIN_FEATURE } from '../../shared/jobs/url.ts';
import { registerVolunteer } from '../helpers/coordinator.ts';
import { startFixtureWeb, type FixtureWeb } from '../helpers/fixtureWeb.ts';
import { buildTinyModel } from '../helpers/models.ts';
import { gzipMembers, watRecord } from '../wat/helpers.ts';
import { buildPage, launchChromium, startRig, watchErrors, type PageRig } from './harness.ts';

const IMAGES = ['skimage-chelsea.png', 'skimage-coffee.png', 'pillow-hopper.jpg', 'skimage-rocket.jpg'];

let clientDir: string;
let modelDir: string;
let agentCache: string;
let rig: PageRig;
let web: FixtureWeb;
let browser: Awaited<ReturnType<typeof launchChromium>>;
let page: Page;
let errors: string[];
let agent: WorkClient | null = null;

interface CandidateRow {
  url: string;
  state: string;
  status: string | null;
  similarity: number | null;
  needs_cross_origin: boolean;
  model_hash: string | null;
}

async function candidates(): Promise<CandidateRow[]> {
  return rig.db.db.rows<CandidateRow>(sql`select url, state, status, similarity, needs_cross_origin, model_hash from candidates order by url`);
}

async function waitFor<T>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs = 90_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(await candidates())}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

beforeAll(async () => {
  const [built, model] = await Promise.all([buildPage(), buildTinyModel({ seed: 4 })]);
  clientDir = built;
  modelDir = model.dir;
  agentCache = await mkdtemp(join(tmpdir(), 'crawlswarm-agent-models-'));
  rig = await startRig({ clientDir, modelDir, background: true, config: { backgroundIntervalMs: 300, transitionerIntervalMs: 1_000, urlJobSize: 4, urlJobHostCap: 4 } });
  web = await startFixtureWeb({ hosts: [{ ip: '127.0.0.2', cors: true }, { ip: '127.0.0.3', cors: false }] });
  // A WAT of two pages: four images on the CORS host, four on the host without CORS.
  const links = (host: number) => IMAGES.map((f, i) => ({ url: web.urlFor(host, `/images/${f}?page=${host}`), alt: `picture number ${i} of host ${host}` }));
  const wat = gzipMembers([watRecord('https://example.org/a.html', links(0)), watRecord('https://example.org/b.html', links(1))]);
  web.route('/crawl/pipeline.warc.wat.gz', (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': wat.byteLength });
    res.end(wat);
  });
  browser = await launchChromium();
  page = await browser.context.newPage();
  errors = watchErrors(page);
}, 180_000);

afterAll(async () => {
  await agent?.stop();
  await browser?.close();
  await web?.close();
  await rig?.close();
  for (const d of [clientDir, modelDir, agentCache]) if (d) await rm(d, { recursive: true, force: true });
});

describe('crawl path with the page and an agent', () => {
  it('page: WAT -> candidates -> URL jobs; CORS-blocked URLs rerouted to an agent, which scores them', async () => {
    await enqueueJobs(rig.db.db, [{ kind: 'wat', payload: { url: web.urlFor(0, '/crawl/pipeline.warc.wat.gz'), crawl: null, slice: null, range: null } }]);
    await page.goto(`${rig.coordinator.url}/?backend=wasm`);
    await page.getByLabel('Nickname').fill('pipelinetab');
    await page.getByRole('button', { name: 'Register and start' }).click();

    // The page reads the WAT, scores the CORS host's images, and hands the other four back as cors.
    await waitFor('page results', async () => {
      const rows = await candidates();
      return rows.length === 8 && rows.filter((r) => r.state === 'scored').length === 4 && rows.filter((r) => r.needs_cross_origin).length === 4 && rows;
    });
    const afterPage = await candidates();
    for (const r of afterPage.filter((c) => c.url.includes('127.0.0.2'))) expect([r.state, r.status, r.needs_cross_origin]).toEqual(['scored', 'ok', false]);
    for (const r of afterPage.filter((c) => c.url.includes('127.0.0.3'))) {
      expect(r.needs_cross_origin).toBe(true);
      expect(['new', 'packed']).toContain(r.state); // the packer may already have packed them again
    }
    // Once packed again, their job is for workers that can fetch cross-origin only.
    await waitFor('cross-origin URL job', async () => {
      const jobs = await rig.db.db.rows<{ requires: string[] }>(sql`select requires from jobs where kind = 'url' and state = 'queued'`);
      return jobs.length === 1 && jobs[0]!.requires.includes(CROSS_ORIGIN_FEATURE);
    });
    // Those need a worker with the cross-origin capability: the page keeps getting nothing for them.
    await new Promise((r) => setTimeout(r, 1_500));
    expect((await candidates()).filter((r) => r.state === 'scored')).toHaveLength(4);

    const volunteer = await registerVolunteer(rig.coordinator.url, 'pipeline-agent');
    agent = new WorkClient({
      url: rig.coordinator.url,
      token: volunteer.token,
      kind: 'node',
      capabilities: { jobKinds: ['url'], backends: ['cpu'], features: [CROSS_ORIGIN_FEATURE], maxJobs: 1 },
      executors: {
        url: createUrlExecutor({
          fetcher: createFetcher({ allowPrivate: true }),
          model: () => loadCoordinatorModel(rig.coordinator.url, { cacheDir: agentCache, devices: ['cpu'] }),
          tokenizer: agentTokenizer(),
        }),
      },
      socketOptions: { forceNew: true, transports: ['websocket'] },
    });
    agent.start();
    const done = await waitFor('agent results', async () => {
      const rows = await candidates();
      return rows.every((r) => r.state === 'scored') && rows;
    });
    for (const r of done) {
      expect(r.status).toBe('ok');
      expect(r.similarity).not.toBeNull();
      expect(r.model_hash).toMatch(/^[0-9a-f]{64}$/);
    }
    expect(await page.getByTestId('cors-share').textContent()).toBe('50%');
    expect(errors).toEqual([]);
  });
});
