// The whole crawl path on real parts: WAT files served over HTTP, `crawlswarm ingest` (the real CLI) makes
// WAT jobs, an agent-equivalent work client (the agent's own executors) runs them, the assimilator dedups
// candidates across the crawl, the packer mixes hosts into URL jobs, the agent fetches the images from the
// loopback fixture web and scores them with the tiny CLIP model served by the coordinator.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { sql } from 'drizzle-orm';
import express from 'express';
import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentTokenizer, createUrlExecutor, createWatExecutor } from '../../server/agent/executors.ts';
import { createGuardedFetch } from '../../server/fetch/guardedFetch.ts';
import { loadCoordinatorModel, type ModelLoad } from '../../server/agent/modelClient.ts';
import { runAssimilatorOnce } from '../../server/assimilator.ts';
import type { Coordinator } from '../../server/coordinator.ts';
import { createFetcher, type Fetcher } from '../../server/fetch/fetcher.ts';
import { createModelProvider } from '../../server/http/modelRoutes.ts';
import { runPackerOnce } from '../../server/packer.ts';
import { WorkClient } from '../../shared/client/workClient.ts';
import { startFixtureWeb, type FixtureWeb } from '../helpers/fixtureWeb.ts';
import { registerVolunteer, startTestCoordinator } from '../helpers/coordinator.ts';
import { dbBackends, openTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { buildTinyModel } from '../helpers/models.ts';
import { gzipMembers, watRecord, type Link } from '../wat/helpers.ts';

const run = promisify(execFile);
const CLI = join(import.meta.dirname, '../../server/cli/crawlswarm.mjs');
const IMAGES = join(import.meta.dirname, '../fixtures/images');

describe.each(dbBackends())('crawl pipeline on %s', (backend) => {
  let t: TestDatabase;
  let web: FixtureWeb;
  let watServer: Server;
  let watBase: string;
  let coord: Coordinator;
  let fetcher: Fetcher;
  let modelDir: string;
  let cacheDir: string;

  beforeAll(async () => {
    web = await startFixtureWeb({ hosts: [{ ip: '127.0.0.2', cors: true }, { ip: '127.0.0.3', cors: false }] });
    const page1: Link[] = [
      { url: web.urlFor(0, '/images/skimage-rocket.jpg'), alt: 'A Falcon 9 rocket launching into the sky' },
      { url: web.urlFor(0, '/images/skimage-chelsea.png'), alt: 'a photo of a cat' },
      { url: web.urlFor(1, '/images/skimage-coffee.png'), alt: 'a cup of coffee &amp; a saucer' },
      { url: web.urlFor(1, '/hostile/pixel.png'), alt: 'tracking pixel spacer' },
      { url: web.urlFor(1, '/hostile/noai'), alt: 'a rocket whose site opted out' },
      { url: web.urlFor(0, '/images/diagram.svg'), alt: 'an svg diagram is dropped' },
      { url: web.urlFor(0, '/images/skimage-camera.png'), alt: 'ok' },
    ];
    // the second file repeats two pairs of the first: the crawl keeps each pair once
    const page2: Link[] = [page1[0]!, page1[1]!, { url: web.urlFor(1, '/images/pillow-hopper.webp'), alt: 'Grace Hopper portrait' }];
    const dir = await mkdtemp(join(tmpdir(), 'cs-wat-'));
    await writeFile(join(dir, 'a.warc.wat.gz'), gzipMembers([watRecord('http://127.0.0.2/gallery/1', page1), watRecord('http://127.0.0.2/gallery/1b', [])]));
    await writeFile(join(dir, 'b.warc.wat.gz'), gzipMembers([watRecord('http://127.0.0.3/page/2', page2)]));
    await writeFile(join(dir, 'wat.paths'), 'a.warc.wat.gz\nb.warc.wat.gz\n');
    const app = express();
    app.use(express.static(dir)); // express.static answers HEAD and Range, as a real WAT host does
    watServer = await new Promise((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    watBase = `http://127.0.0.1:${(watServer.address() as { port: number }).port}/`;

    modelDir = (await buildTinyModel()).dir;
    cacheDir = await mkdtemp(join(tmpdir(), 'cs-model-cache-'));
    t = await openTestDatabase(backend);
    coord = await startTestCoordinator(t.db, { config: { modelDir, urlJobSize: 4, urlJobHostCap: 2 } });
    fetcher = createFetcher({ allowPrivate: true, retryDelayMs: 50 });
  });

  afterAll(async () => {
    await coord?.close();
    await t?.drop();
    await fetcher?.close();
    await web?.close();
    await new Promise((r) => watServer?.close(r));
    await rm(cacheDir, { recursive: true, force: true });
  });

  it('ingests a listing, extracts, dedups, packs with a host cap, fetches and scores every candidate', { timeout: 120_000 }, async () => {
    const ingest = await run(process.execPath, [CLI, 'ingest', '--paths', `${watBase}wat.paths`, '--base', watBase, '--slices', '2',
      '--server', coord.url, '--admin-token', 'test-admin-token']);
    expect(JSON.parse(ingest.stdout.trim().split('\n').at(-1)!)).toMatchObject({ files: 2, jobs: 4 });
    // without --cors only agents may read the WAT files
    expect(await t.db.rows(sql`select distinct requires from jobs where kind = 'wat'`)).toEqual([{ requires: ['fetch:cross-origin'] }]);

    const token = (await registerVolunteer(coord.url, `agent-${backend}`)).token;
    let model: Promise<ModelLoad> | null = null;
    const done: { kind: string; ok: boolean; accepted: boolean }[] = [];
    const agent = new WorkClient({
      url: coord.url, token, kind: 'node',
      capabilities: { jobKinds: ['wat', 'url'], backends: ['cpu'], features: ['fetch:cross-origin'], maxJobs: 2 },
      executors: {
        wat: createWatExecutor({ fetchFn: createGuardedFetch({ allowPrivate: true }) }),
        url: createUrlExecutor({ fetcher, tokenizer: agentTokenizer(), model: (refresh) => (model && !refresh ? model : (model = loadCoordinatorModel(coord.url, { cacheDir }))) }),
      },
      idlePollMs: 100,
      socketOptions: { forceNew: true, transports: ['websocket'] },
      onEvent: (e) => {
        if (e.type === 'job:done') done.push({ kind: e.job.kind, ok: e.outcome.ok, accepted: e.accepted });
      },
    });
    agent.start();
    const provider = createModelProvider(modelDir);
    const deps = coord.deps;
    const until = Date.now() + 100_000;
    let state: { state: string; n: number }[] = [];
    while (Date.now() < until) {
      await runAssimilatorOnce(deps);
      await runPackerOnce(deps, provider, { flush: true });
      state = await t.db.rows(sql`select state, count(*)::int as n from candidates group by state`);
      const open = await t.db.rows<{ n: number }>(sql`select count(*)::int as n from jobs where state in ('queued', 'active')`);
      if (state.length === 1 && state[0]!.state === 'scored' && open[0]!.n === 0) break;
      coord.announceJobs(['url']);
      await new Promise((r) => setTimeout(r, 100));
    }
    await agent.stop();

    expect(done.every((d) => d.ok && d.accepted), JSON.stringify(done)).toBe(true);
    expect(done.filter((d) => d.kind === 'wat')).toHaveLength(4);
    // page 1: 5 pairs pass the rules (the .svg and the 2-character alt do not); page 2 adds 1 new pair and
    // repeats 2 that the crawl already has
    const rows = await t.db.rows<{ url: string; alt: string; status: string; width: number | null; height: number | null; sha256: string | null;
      similarity: number | null; kept: boolean | null; embedding: string | null; url_job_id: number; language: string; page_url: string; language_score: number }>(sql`
      select url, alt, status, width, height, sha256, similarity, kept, embedding, url_job_id::float8 as url_job_id, language, page_url,
        language_score::float8 as language_score from candidates order by id`);
    const byPath = Object.fromEntries(rows.map((r) => [new URL(r.url).pathname, r]));
    expect(Object.keys(byPath).sort()).toEqual(['/hostile/noai', '/hostile/pixel.png', '/images/pillow-hopper.webp', '/images/skimage-chelsea.png',
      '/images/skimage-coffee.png', '/images/skimage-rocket.jpg']);
    expect(rows).toHaveLength(6);
    expect(byPath['/images/skimage-coffee.png']!.alt).toBe('a cup of coffee & a saucer');
    expect(byPath['/images/skimage-rocket.jpg']!.language).toBe('en');
    expect(byPath['/images/skimage-rocket.jpg']!.language_score).toBeGreaterThan(0);
    expect(byPath['/images/skimage-rocket.jpg']!.language_score).toBeLessThanOrEqual(1);
    // provenance: the page each pair was found on (the first crawl to see a pair keeps its page)
    expect(byPath['/images/skimage-rocket.jpg']!.page_url).toBe('http://127.0.0.2/gallery/1');
    expect(byPath['/images/pillow-hopper.webp']!.page_url).toBe('http://127.0.0.3/page/2');
    expect(byPath['/hostile/pixel.png']!.status).toBe('too-small');
    expect(byPath['/hostile/noai']!.status).toBe('opt-out');
    const rocket = byPath['/images/skimage-rocket.jpg']!;
    expect(rocket).toMatchObject({ status: 'ok', width: 640, height: 427 });
    expect(rocket.sha256).toBe(createHash('sha256').update(await readFile(join(IMAGES, 'skimage-rocket.jpg'))).digest('hex'));
    const manifest = JSON.parse(await readFile(join(modelDir, 'manifest.json'), 'utf8'));
    for (const r of rows.filter((x) => x.status === 'ok')) {
      expect(r.similarity).toBeGreaterThanOrEqual(-1);
      expect(r.similarity).toBeLessThanOrEqual(1);
      expect(r.kept).toBe(r.similarity! >= manifest.threshold);
      // a kept pair carries its float16 image embedding
      if (r.kept) expect(Buffer.from(r.embedding!, 'base64')).toHaveLength(manifest.embeddingSize * 2);
      else expect(r.embedding).toBeNull();
    }
    // URL jobs: at most 4 candidates and at most 2 of one host each
    const jobs = new Map<number, string[]>();
    for (const r of rows) jobs.set(r.url_job_id, [...(jobs.get(r.url_job_id) ?? []), new URL(r.url).host]);
    for (const hosts of jobs.values()) {
      expect(hosts.length).toBeLessThanOrEqual(4);
      for (const h of new Set(hosts)) expect(hosts.filter((x) => x === h).length).toBeLessThanOrEqual(2);
    }
    // politeness: each image was fetched once
    expect(web.count('/images/skimage-rocket.jpg')).toBe(1);
  });

  it('an agent that looks again for the model keeps its session while the coordinator serves the same one', async () => {
    const first = await loadCoordinatorModel(coord.url, { cacheDir });
    if (!first.ok) throw new Error(first.detail);
    const again = await loadCoordinatorModel(coord.url, { cacheDir, keep: first.model });
    expect(again.ok && again.model).toBe(first.model);
    const fresh = await loadCoordinatorModel(coord.url, { cacheDir });
    expect(fresh.ok && fresh.model.session).not.toBe(first.model.session);
    expect(fresh.ok && fresh.model.manifestHash).toBe(first.model.manifestHash);
    await first.model.session.release();
    if (fresh.ok) await fresh.model.session.release();
  });
});
