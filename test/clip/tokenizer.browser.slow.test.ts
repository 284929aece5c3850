// The tokenizer in headless Chromium, in a module Web Worker, loaded the way the page will load it: the
// gzipped merges file fetched from public/ (served statically, as the coordinator does), sha256-checked
// with crypto.subtle and gunzipped with DecompressionStream. Its ids must equal Node's on every fixture text.
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import express from 'express';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadClipTokenizer } from '../../server/clip/vocab.ts';

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

let server: Server;
let origin: string;
let context: BrowserContext;
let page: Page;
let profile: string;

beforeAll(async () => {
  const bundle = await build({
    stdin: { contents: WORKER_SOURCE, resolveDir: root, loader: 'ts', sourcefile: 'tokenizer-worker.ts' },
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
  });
  const workerJs = bundle.outputFiles[0]!.text;
  const app = express();
  app.get('/tokenizer-worker.js', (_req, res) => void res.type('text/javascript').send(workerJs));
  app.get('/', (_req, res) => void res.type('html').send('<!doctype html><title>tokenizer</title>'));
  app.use(express.static(join(root, 'public')));
  server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const addr = server.address();
  if (!addr || typeof addr === 'string') throw new Error('no address');
  origin = `http://127.0.0.1:${addr.port}`;
  profile = await mkdtemp(join(tmpdir(), 'crawlswarm-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  page = await context.newPage();
  await page.goto(origin + '/');
});

afterAll(async () => {
  await context?.close();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  if (profile) await rm(profile, { recursive: true, force: true });
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
