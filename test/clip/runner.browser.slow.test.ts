// onnxruntime-web in headless Chromium, in a module Web Worker: the WebGPU execution provider (on
// SwiftShader, with --enable-unsafe-webgpu) and WASM, against onnxruntime-node on the same inputs.
import { join } from 'node:path';
import express from 'express';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOrtNodeBackend } from '../../server/clip/ortNode.ts';
import { dirLoader } from '../../server/clip/modelStore.ts';
import { createClipSession } from '../../shared/clip/runner.ts';
import { bundleForBrowser, launchChromium, listenLoopback, type LaunchedChromium } from '../helpers/browser.ts';
import { buildTinyModel, testPixels, testTokenRows } from '../helpers/models.ts';
import type { ClipManifest } from '../../shared/clip/manifest.ts';

// WASM in Chromium runs the same kernels as onnxruntime-node: agreement ~1e-7.
const WASM_TOLERANCE = 1e-5;
// WebGPU shaders (SwiftShader here) sum in other orders and use their own exp/sigmoid: observed ~1e-6.
const WEBGPU_TOLERANCE = 1e-4;

const root = join(import.meta.dirname, '../..');
let web: Awaited<ReturnType<typeof listenLoopback>>;
let browser: LaunchedChromium;
let page: Page;
let modelDir: string;
let manifest: ClipManifest;

beforeAll(async () => {
  const built = await buildTinyModel({ seed: 5 });
  modelDir = built.dir;
  manifest = built.manifest;
  const workerJs = await bundleForBrowser({ file: join(import.meta.dirname, 'browser/worker.ts') }, { external: ['/ort/*'] });
  const app = express();
  app.get('/worker.js', (_req, res) => void res.type('text/javascript').send(workerJs));
  app.get('/', (_req, res) => void res.type('html').send('<!doctype html><title>clip</title><p>clip runner test</p>'));
  app.use('/ort', express.static(join(root, 'node_modules/onnxruntime-web/dist')));
  app.use('/model', express.static(modelDir));
  web = await listenLoopback(app);
  browser = await launchChromium({ webgpu: true });
  page = await browser.context.newPage();
  await page.goto(web.origin + '/');
});

afterAll(async () => {
  await browser?.close();
  await web?.close();
});

interface WorkerAnswer {
  ok: boolean;
  device?: string;
  dtype?: string;
  reason?: string;
  detail?: string;
  backendDevices: string[];
  attempts?: { device: string; ok: boolean; reason?: string }[];
  modelHash?: string;
  images?: number[];
  texts?: number[];
  scores?: number[];
}

function inWorker(request: { devices: string[]; dtype: string; pixels: number[]; rows: number[][] }): Promise<WorkerAnswer> {
  return page.evaluate(
    (req) =>
      new Promise<WorkerAnswer>((resolve) => {
        const w = new Worker('/worker.js', { type: 'module' });
        w.onmessage = (e) => {
          resolve(e.data as WorkerAnswer);
          w.terminate();
        };
        w.onerror = (e) => resolve({ ok: false, reason: 'worker_error', detail: e.message, backendDevices: [] });
        w.postMessage(req);
      }),
    request,
  );
}

async function nodeReference(dtype: 'fp32' | 'q8', pixels: Float32Array, rows: number[][]) {
  const r = await createClipSession({ manifest, backend: createOrtNodeBackend(), devices: ['cpu'], load: dirLoader(modelDir), dtype });
  if (!r.ok) throw new Error(r.detail);
  const images = await r.session.embedImages(pixels);
  const texts = await r.session.embedTexts(rows);
  if (!images.ok || !texts.ok) throw new Error('node embedding failed');
  const scores = r.session.score(images.embeddings, texts.embeddings);
  const hash = r.session.modelHash;
  await r.session.release();
  return { images: images.embeddings, texts: texts.embeddings, scores, hash };
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe('onnxruntime-web in headless Chromium (module worker)', () => {
  const pixels = testPixels(3, 224, 9);
  const rows = testTokenRows(3);

  it('WebGPU (SwiftShader adapter) embeddings and scores match onnxruntime-node', async () => {
    const answer = await inWorker({ devices: ['webgpu', 'wasm'], dtype: 'fp32', pixels: Array.from(pixels), rows });
    expect(answer.ok, answer.detail).toBe(true);
    expect(answer.backendDevices).toEqual(['webgpu', 'wasm']);
    expect(answer.device).toBe('webgpu');
    const ref = await nodeReference('fp32', pixels, rows);
    expect(answer.modelHash).toBe(ref.hash);
    expect(maxAbsDiff(answer.images!, ref.images)).toBeLessThan(WEBGPU_TOLERANCE);
    expect(maxAbsDiff(answer.texts!, ref.texts)).toBeLessThan(WEBGPU_TOLERANCE);
    expect(maxAbsDiff(answer.scores!, ref.scores)).toBeLessThan(WEBGPU_TOLERANCE);
  });

  it('WASM embeddings match onnxruntime-node for fp32 and q8', async () => {
    for (const dtype of ['fp32', 'q8'] as const) {
      const answer = await inWorker({ devices: ['wasm'], dtype, pixels: Array.from(pixels), rows });
      expect(answer.ok, answer.detail).toBe(true);
      expect([answer.device, answer.dtype]).toEqual(['wasm', dtype]);
      const ref = await nodeReference(dtype, pixels, rows);
      expect(maxAbsDiff(answer.images!, ref.images)).toBeLessThan(WASM_TOLERANCE);
      expect(maxAbsDiff(answer.texts!, ref.texts)).toBeLessThan(WASM_TOLERANCE);
      expect(maxAbsDiff(answer.scores!, ref.scores)).toBeLessThan(WASM_TOLERANCE);
    }
  });

  it('asking for CUDA in the browser names the devices it does have', async () => {
    const answer = await inWorker({ devices: ['cuda'], dtype: 'fp32', pixels: [], rows: [] });
    expect(answer).toMatchObject({ ok: false, reason: 'unsupported_device' });
    expect(answer.detail).toContain('supported: webgpu, wasm');
  });
});
