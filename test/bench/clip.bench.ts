// CLIP embedding throughput with the synthetic vit-b-32 (real architecture, seeded random weights),
// fp32 and q8: onnxruntime-node CPU and onnxruntime-web WASM in Node, images at batch 1/8/32 and texts
// (77 tokens) at batch 8/32; plus the q8-vs-fp32 similarity drift measured on the same inputs.
// Baselines: q8 on onnxruntime-node is compared with fp32 on onnxruntime-node (ratio = q8 speed-up);
// onnxruntime-web is compared with onnxruntime-node at the same dtype and batch (ratio = web / node).
import { availableParallelism } from 'node:os';
import * as ortWeb from 'onnxruntime-web';
import { createOrtNodeBackend, cudaProviderInstalled } from '../../server/clip/ortNode.ts';
import { createOrtWebBackend, type OrtModule } from '../../shared/clip/ortWeb.ts';
import { createClipSession, type ClipBackend, type ClipSession } from '../../shared/clip/runner.ts';
import { cachedVitB32, dirLoader, testPixels, testTokenRows } from '../helpers/models.ts';
import type { Bench, BenchResult } from './bench.ts';

const threads = Math.min(4, availableParallelism());

/**
 * Items per second from the median time of one call (after one warm-up call): the machine is shared, and
 * the median ignores the calls that other processes slowed down.
 */
async function rate(items: number, minSeconds: number, minIterations: number, maxIterations: number, fn: () => Promise<unknown>): Promise<number> {
  await fn(); // warm-up: first run allocates and plans
  const times: number[] = [];
  const t0 = performance.now();
  while (times.length < maxIterations && (times.length < minIterations || (performance.now() - t0) / 1000 < minSeconds)) {
    const t = performance.now();
    await fn();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)]!;
  return items / (median / 1000);
}

const bench: Bench = {
  name: 'clip',
  async run(ctx) {
    const { dir, manifest } = await cachedVitB32(ctx.log);
    (ortWeb.env.wasm as { numThreads: number }).numThreads = threads;
    const backends: ClipBackend[] = [createOrtNodeBackend(), createOrtWebBackend(ortWeb as unknown as OrtModule, { webgpu: false })];
    const imageBatches = ctx.quick ? [1, 8] : [1, 8, 32];
    const textBatch = ctx.quick ? 8 : 32;
    const minSeconds = ctx.quick ? 0 : 3;
    const minIterations = ctx.quick ? 1 : 3;
    const maxIterations = ctx.quick ? 1 : 20;
    const results: BenchResult[] = [];
    const figures = new Map<string, number>();
    const S = manifest.imageSize;
    const pixels = testPixels(32, S, 1);
    const rows = testTokenRows(32);
    const sessions = new Map<string, ClipSession>();

    for (const backend of backends) {
      for (const dtype of ['fp32', 'q8'] as const) {
        const device = backend.name === 'onnxruntime-node' ? 'cpu' : 'wasm';
        const t0 = performance.now();
        const r = await createClipSession({ manifest, backend, devices: [device], load: dirLoader(dir), dtype, maxBatch: 32 });
        if (!r.ok) throw new Error(`${backend.name} ${dtype}: ${r.detail}`);
        ctx.log(`${backend.name} ${dtype}: sessions loaded in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
        const s = r.session;
        const short = backend.name === 'onnxruntime-node' ? 'node-cpu' : 'web-wasm';
        const baselineOf = (key: string) => (short === 'node-cpu' ? (dtype === 'q8' ? figures.get(key.replace('q8', 'fp32')) : undefined) : figures.get(key.replace('web-wasm', 'node-cpu')));
        for (const batch of imageBatches) {
          const input = pixels.subarray(0, batch * 3 * S * S);
          const value = await rate(batch, minSeconds, minIterations, maxIterations, () => s.embedImages(input));
          const key = `${short} ${dtype} images batch ${batch}`;
          figures.set(key, value);
          ctx.log(`${key}: ${value.toFixed(2)}/s`);
          results.push({ name: `clip vit-b-32 ${key}`, value, unit: 'images/s', baseline: baselineOf(key) ?? null, note: `${threads} threads, median of runs` });
        }
        const textRows = rows.slice(0, textBatch);
        const value = await rate(textBatch, minSeconds, minIterations, maxIterations, () => s.embedTexts(textRows));
        const key = `${short} ${dtype} texts batch ${textBatch}`;
        figures.set(key, value);
        ctx.log(`${key}: ${value.toFixed(2)}/s`);
        results.push({ name: `clip vit-b-32 ${key}`, value, unit: 'texts/s', baseline: baselineOf(key) ?? null, note: '77 tokens' });
        if (backend.name === 'onnxruntime-node') sessions.set(dtype, s);
        else await s.release();
      }
    }

    // CUDA where onnxruntime-node's CUDA provider is installed (a GPU host): fp32, against CPU fp32.
    if (cudaProviderInstalled()) {
      const r = await createClipSession({ manifest, backend: backends[0]!, devices: ['cuda'], load: dirLoader(dir), dtype: 'fp32', maxBatch: 32 });
      if (!r.ok) ctx.log(`CUDA: ${r.detail}`);
      else {
        for (const batch of imageBatches) {
          const value = await rate(batch, minSeconds, minIterations, maxIterations, () => r.session.embedImages(pixels.subarray(0, batch * 3 * S * S)));
          ctx.log(`node-cuda fp32 images batch ${batch}: ${value.toFixed(2)}/s`);
          results.push({ name: `clip vit-b-32 node-cuda fp32 images batch ${batch}`, value, unit: 'images/s', baseline: figures.get(`node-cpu fp32 images batch ${batch}`) ?? null, note: 'onnxruntime-node CUDA provider vs CPU' });
        }
        await r.session.release();
      }
    } else ctx.log('CUDA: onnxruntime-node has no CUDA provider here (npm i onnxruntime-node --onnxruntime-node-install=cuda12 on a GPU host); skipped');

    // q8 drift against fp32 on the same 8 images x 8 texts (all 64 pairs).
    const fp = sessions.get('fp32')!;
    const q8 = sessions.get('q8')!;
    const n = 8;
    const D = manifest.embeddingSize;
    const px = pixels.subarray(0, n * 3 * S * S);
    const [fi, qi, ft, qt] = [await fp.embedImages(px), await q8.embedImages(px), await fp.embedTexts(rows.slice(0, n)), await q8.embedTexts(rows.slice(0, n))];
    if (!fi.ok || !qi.ok || !ft.ok || !qt.ok) throw new Error('drift embeddings failed');
    let worst = 0;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        let a = 0;
        let b = 0;
        for (let k = 0; k < D; k++) {
          a += fi.embeddings[i * D + k]! * ft.embeddings[j * D + k]!;
          b += qi.embeddings[i * D + k]! * qt.embeddings[j * D + k]!;
        }
        worst = Math.max(worst, Math.abs(a - b));
      }
    }
    results.push({ name: 'clip vit-b-32 q8 vs fp32 max |similarity drift|', value: worst, unit: 'cosine', baseline: null, note: '64 pairs, random weights' });
    await Promise.all([...sessions.values()].map((s) => s.release()));
    return results;
  },
};

export default bench;
