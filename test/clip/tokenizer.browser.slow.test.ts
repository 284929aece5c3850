// The tokenizer in headless Chromium, in a module Web Worker, loaded the way the page will load it: the
// gzipped merges file fetched from public/ (served statically, as the coordinator does), sha256-checked
// with crypto.subtle and gunzipped with DecompressionStream. Its ids must equal Node's on every fixture text.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import express from 'express';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadClipTokenizer } from '../../server/clip/vocab.ts';
import { bundleForBrowser, launchChromium, listenLoopback, type LaunchedChromium } from '../helpers/browser.ts';

const root = join(import.meta.dirname, '../..');
const fixtures = join(import.meta.dirname, '../fixtures/clip');

const WORKER_SOURCE = `
import { clipTokenizerFromGzip, CLIP_VOCAB_URL_PATH } from './shared/clip/tokenizer/vocabFile.ts';
self.onmessage = async (event) => {
  const t0 = performance.now();
  const gz = new Uint8Array(await (await fetch(CLIP_VOCAB_URL_PATH)).arrayBuffer());
  const loaded = await clipTokenizerFromGzip(gz);
  const loadMs = performance.now() - t0;
  if (!loaded.ok) return self.postMessage({ ok: false, reason: loaded.reason, detail: loaded.detail });
  const ids = event.data.texts.map((text) => loaded.tokenizer.encode(text));
  const batch = loaded.tokenizer.tokenize(event.data.texts.slice(0, 4));
  const damaged = gz.slice();
  damaged[10] ^= 1;
  const refused = await clipTokenizerFromGzip(damaged);
  self.postMessage({
    ok: true, loadMs, ids,
    batch: batch.ok ? { ids: Array.from(batch.inputIds, Number), dims: batch.dims, type: batch.inputIds.constructor.name } : null,
    refusedReason: refused.ok ? null : refused.reason,
  });
};
`;

interface WorkerAnswer {
  ok: boolean;
  reason?: string;
  detail?: string;
  loadMs: number;
  ids: number[][];
  batch: { ids: number[]; dims: number[]; type: string } | null;
  refusedReason: string | null;
}

let web: Awaited<ReturnType<typeof listenLoopback>>;
let browser: LaunchedChromium;
let page: Page;

beforeAll(async () => {
  const workerJs = await bundleForBrowser({ source: WORKER_SOURCE, resolveDir: root, name: 'tokenizer-worker.ts' });
  const app = express();
  app.get('/tokenizer-worker.js', (_req, res) => void res.type('text/javascript').send(workerJs));
  app.get('/', (_req, res) => void res.type('html').send('<!doctype html><title>tokenizer</title>'));
  app.use(express.static(join(root, 'public')));
  web = await listenLoopback(app);
  browser = await launchChromium();
  page = await browser.context.newPage();
  await page.goto(web.origin + '/');
});

afterAll(async () => {
  await browser?.close();
  await web?.close();
});

it('gives the same ids in a Chromium Web Worker as in Node, loading the shipped .gz with Web APIs', async () => {
  const upstream = JSON.parse(readFileSync(join(fixtures, 'clip-tokenizer-reference.json'), 'utf8'));
  const extra = JSON.parse(readFileSync(join(fixtures, 'extra-reference.json'), 'utf8'));
  const texts: string[] = [...upstream.reference_cases.cases, ...extra.cases].map((c: { text: string }) => c.text);
  const answer = await page.evaluate(async (texts: string[]) => {
    const worker = new Worker('/tokenizer-worker.js', { type: 'module' });
    const result = await new Promise((resolve, reject) => {
      worker.onmessage = (e) => resolve(e.data);
      worker.onerror = (e) => reject(new Error(e.message));
      worker.postMessage({ texts });
    });
    worker.terminate();
    return result;
  }, texts) as WorkerAnswer;

  expect(answer.ok, answer.detail).toBe(true);
  const loaded = await loadClipTokenizer();
  if (!loaded.ok) throw new Error(loaded.detail);
  const want = texts.map((t) => loaded.tokenizer.encode(t));
  expect(answer.ids.length).toBe(texts.length);
  const differing = texts.filter((_t, i) => JSON.stringify(answer.ids[i]) !== JSON.stringify(want[i]));
  expect(differing).toEqual([]);
  expect(answer.batch?.type).toBe('BigInt64Array');
  expect(answer.batch?.dims).toEqual([4, 77]);
  expect(answer.batch?.ids.slice(0, 7)).toEqual(want[0]);
  expect(answer.refusedReason).toBe('vocab_sha256_mismatch');
  // Start-up in the page: fetch + sha256 + gunzip + parse (reported, loosely bounded).
  expect(answer.loadMs).toBeLessThan(5000);
  console.log(`tokenizer in Chromium worker: ${texts.length} texts, vocab load ${answer.loadMs.toFixed(0)} ms`);
});
