// Images scored per second by the volunteer page in headless Chromium (WASM, and WebGPU on the SwiftShader
// adapter), end to end: a URL job of images on a loopback CORS host, fetched, checked, decoded with
// createImageBitmap, embedded and scored in the page's Web Worker, result uploaded. Baseline: the Node agent
// (WorkClient, undici fetcher, sharp, onnxruntime-node CPU) on the same kind of job through the same
// coordinator, timed the same way; ratio = page / agent. The agent's executor alone is reported too.
// Full run: the synthetic vit-b-32 (q8 on WASM and CPU, fp32 on WebGPU). --quick: the tiny model, to check
// the path in well under a minute. The first job of each backend is a warm-up (shader compilation,
// allocation) and is not timed; the model's first-visit load time is reported on its own.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import type { Page } from 'playwright-core';
import { agentTokenizer, createUrlExecutor } from '../../server/agent/executors.ts';
import { loadCoordinatorModel } from '../../server/agent/modelClient.ts';
import { createFetcher } from '../../server/fetch/fetcher.ts';
import { WorkClient } from '../../shared/client/workClient.ts';
import { registerVolunteer } from '../helpers/coordinator.ts';
import type { UrlJobItem, UrlResult } from '../../shared/jobs/url.ts';
import { startFixtureWeb, type FixtureWeb } from '../helpers/fixtureWeb.ts';
import { buildTinyModel, cachedVitB32 } from '../helpers/models.ts';
import { buildPage, enqueueUrlJob, launchChromium, startRig, type PageRig } from '../page/harness.ts';
import type { Bench, BenchResult } from './bench.ts';

const IMAGES = ['skimage-chelsea.png', 'skimage-coffee.png', 'pillow-hopper.jpg', 'skimage-rocket.jpg', 'skimage-horse.png', 'coco-val2017-000000039769.png'];

let seq = 0;
function jobItems(web: FixtureWeb, n: number): UrlJobItem[] {
  // A fresh query string per URL: no HTTP cache hits, every image is really downloaded and decoded.
  return Array.from({ length: n }, (_, i) => ({ id: ++seq, url: web.urlFor(0, `/images/${IMAGES[i % IMAGES.length]}?n=${seq}`), alt: `a photo number ${i}`, language: 'en' }));
}

async function waitCompleted(rig: PageRig, jobId: number, timeoutMs: number): Promise<UrlResult> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const rows = await rig.db.db.rows<{ state: string; body: UrlResult | null }>(sql`
      select j.state, r.body from jobs j left join results r on r.job_id = j.id where j.id = ${jobId}`);
    const row = rows[0];
    if (row?.state === 'completed' && row.body) return row.body;
    if (row?.state === 'failed') throw new Error(`job ${jobId} failed`);
    if (Date.now() > until) throw new Error(`job ${jobId} not completed within ${timeoutMs} ms (state ${row?.state})`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function backendLine(page: Page): Promise<string> {
  return (await page.getByTestId('backend').textContent()) ?? '';
}

async function waitBackend(page: Page, word: string, timeoutMs: number): Promise<string> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const line = await backendLine(page);
    if (line.includes(word)) return line;
    if (Date.now() > until) {
      const problems = (await page.getByTestId('problems').textContent({ timeout: 1000 }).catch(() => '')) ?? '';
      throw new Error(`backend ${word} not up within ${timeoutMs} ms: ${line} ${problems}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Scored images per second of one URL job run by the page (after a warm-up job). */
async function pageRate(rig: PageRig, web: FixtureWeb, n: number, warmup: number, timeoutMs: number): Promise<{ rate: number; ok: number }> {
  await waitCompleted(rig, await enqueueUrlJob(rig, jobItems(web, warmup)), timeoutMs);
  const t0 = performance.now();
  const result = await waitCompleted(rig, await enqueueUrlJob(rig, jobItems(web, n)), timeoutMs);
  const seconds = (performance.now() - t0) / 1000;
  const ok = result.counts.ok ?? 0;
  if (ok !== n) throw new Error(`page scored ${ok} of ${n}: ${JSON.stringify(result.counts)}`);
  return { rate: ok / seconds, ok };
}

const bench: Bench = {
  name: 'page',
  async run(ctx) {
    const quick = ctx.quick;
    const model = quick ? await buildTinyModel({ seed: 2 }) : await cachedVitB32(ctx.log);
    const modelName = quick ? 'tiny' : 'vit-b-32';
    const n = { wasm: quick ? 24 : 32, webgpu: quick ? 8 : 4, agent: quick ? 24 : 32 };
    const timeoutMs = quick ? 60_000 : 600_000;
    ctx.log(`building the page, starting coordinator + fixture web (${modelName})`);
    const clientDir = await buildPage();
    const rig = await startRig({ clientDir, modelDir: model.dir });
    const web = await startFixtureWeb({ hosts: [{ ip: '127.0.0.2', cors: true }] });
    const browser = await launchChromium();
    const cacheDir = await mkdtemp(join(tmpdir(), 'crawlswarm-bench-agent-'));
    const results: BenchResult[] = [];
    try {
      // Node agent baseline: the agent's own URL executor on the same kind of job.
      ctx.log('node agent baseline');
      const executor = createUrlExecutor({
        fetcher: createFetcher({ allowPrivate: true }),
        model: () => loadCoordinatorModel(rig.coordinator.url, { cacheDir, devices: ['cpu'] }),
        tokenizer: agentTokenizer(),
      });
      const runAgent = async (count: number) => {
        const payload = { model: { id: rig.manifest.id, hash: rig.modelHash }, items: jobItems(web, count) };
        const t0 = performance.now();
        const out = await executor.run({ jobId: '0', leaseId: randomUUID(), kind: 'url', payload, leaseDeadline: '' }, { signal: new AbortController().signal, progress: () => {} });
        if (!out.ok) throw new Error(`agent: ${out.reason}: ${out.detail}`);
        return ((out.result as UrlResult).counts.ok ?? 0) / ((performance.now() - t0) / 1000);
      };
      await runAgent(4);
      const executorRate = await runAgent(n.agent);
      ctx.log(`agent URL executor: ${executorRate.toFixed(2)} images/s`);

      // The agent as volunteers run it: a WorkClient over socket.io with the URL executor, timed from the job's
      // enqueue to its result stored (fetch to upload), exactly as the page's figures are; q8 (what CPU agents
      // run) and fp32.
      const { token } = await registerVolunteer(rig.coordinator.url, 'benchagent');
      const fetchToUpload = async (dtype: 'q8' | 'fp32'): Promise<number> => {
        ctx.log(`node agent through the coordinator (fetch to upload, ${dtype})`);
        const ownFetcher = dtype === 'q8' ? null : createFetcher({ allowPrivate: true });
        const agent = new WorkClient({
          url: rig.coordinator.url, token, kind: 'node',
          capabilities: { jobKinds: ['url'], backends: ['cpu'], features: ['fetch:cross-origin'], maxJobs: 1 },
          executors: {
            url: !ownFetcher ? executor : createUrlExecutor({
              fetcher: ownFetcher, tokenizer: agentTokenizer(),
              model: () => loadCoordinatorModel(rig.coordinator.url, { cacheDir, devices: ['cpu'], dtype }),
            }),
          },
          idlePollMs: 100,
        });
        agent.start();
        try {
          return (await pageRate(rig, web, n.agent, 4, timeoutMs)).rate;
        } finally {
          await agent.stop();
          await ownFetcher?.close();
        }
      };
      const agentRate = await fetchToUpload('q8');
      const agentFp32 = await fetchToUpload('fp32');
      ctx.log(`agent fetch to upload: q8 ${agentRate.toFixed(2)}, fp32 ${agentFp32.toFixed(2)} images/s`);
      results.push({ name: `agent.${modelName}.url_job.fetch_to_upload.images_per_s`, value: agentRate, unit: 'images/s', baseline: executorRate, note: `Node agent (WorkClient + URL executor, onnxruntime-node CPU q8) through the coordinator, enqueue to result stored, ${n.agent} images, vs the executor alone (no socket, no upload)` });
      results.push({ name: `agent.${modelName}.url_job.fetch_to_upload.fp32.images_per_s`, value: agentFp32, unit: 'images/s', baseline: agentRate, note: `the same with the fp32 variant, vs q8` });

      const page = await browser.context.newPage();
      ctx.log('page, WASM (first visit: model download into IndexedDB)');
      const t0 = performance.now();
      await page.goto(`${rig.coordinator.url}/?backend=wasm`);
      await page.getByLabel('Nickname').fill('benchtab');
      await page.getByRole('button', { name: 'Register and start' }).click();
      const wasmLine = await waitBackend(page, 'WASM', timeoutMs);
      const loadSeconds = (performance.now() - t0) / 1000;
      const wasm = await pageRate(rig, web, n.wasm, 4, timeoutMs);
      ctx.log(`page WASM: ${wasm.rate.toFixed(2)} images/s (${wasmLine.trim()})`);
      results.push({ name: `page.${modelName}.first_visit_model_load`, value: loadSeconds, unit: 's', note: 'page open to CLIP ready, WASM variant, includes download + sha256 + IndexedDB write' });
      results.push({ name: `page.${modelName}.wasm.images_per_s`, value: wasm.rate, unit: 'images/s', baseline: agentRate, note: `Chromium WASM (${wasmLine.replace(/\s+/g, ' ').trim()}) vs Node agent (onnxruntime-node CPU, q8), ${n.wasm} images, end to end` });

      // The agent uses every core; the page leaves one free by default. Same page, all cores:
      const cores = await page.evaluate(() => navigator.hardwareConcurrency);
      const threads = page.getByLabel(/Processor threads/);
      await threads.focus();
      await page.keyboard.press('End');
      const allLine = await waitBackend(page, cores === 1 ? '1 thread' : `${Math.min(16, cores)} threads`, timeoutMs);
      const wasmAll = await pageRate(rig, web, n.wasm, 4, timeoutMs);
      ctx.log(`page WASM, all cores: ${wasmAll.rate.toFixed(2)} images/s (${allLine.trim()})`);
      results.push({ name: `page.${modelName}.wasm_all_cores.images_per_s`, value: wasmAll.rate, unit: 'images/s', baseline: agentRate, note: `Chromium WASM with the thread setting at all ${cores} cores (${allLine.replace(/\s+/g, ' ').trim()}) vs Node agent, ${n.wasm} images` });
      await threads.focus();
      await page.keyboard.press('Home');

      ctx.log('page, WebGPU');
      await page.goto(`${rig.coordinator.url}/?backend=webgpu`);
      await page.getByRole('button', { name: 'Start' }).click();
      const gpuLine = await waitBackend(page, 'WebGPU', timeoutMs);
      const gpu = await pageRate(rig, web, n.webgpu, 1, timeoutMs);
      ctx.log(`page WebGPU: ${gpu.rate.toFixed(3)} images/s (${gpuLine.trim()})`);
      results.push({ name: `page.${modelName}.webgpu.images_per_s`, value: gpu.rate, unit: 'images/s', baseline: agentRate, note: `Chromium WebGPU (${gpuLine.replace(/\s+/g, ' ').trim()}${/swiftshader/i.test(gpuLine) ? ': a software adapter, no GPU' : ''}), fp32, ${n.webgpu} images, vs the Node agent (CPU, q8)` });
      results.push({ name: `page.${modelName}.agent.images_per_s`, value: executorRate, unit: 'images/s', note: 'Node agent URL executor alone, onnxruntime-node CPU (q8), same fixture images' });
    } finally {
      await browser.close();
      await web.close();
      await rig.close();
      await rm(clientDir, { recursive: true, force: true });
      await rm(cacheDir, { recursive: true, force: true });
      if (quick) await rm(model.dir, { recursive: true, force: true });
    }
    return results;
  },
};

export default bench;
