// WAT extraction in headless Chromium, in a module Web Worker: fetch (with Range) -> DecompressionStream
// member inflater -> rules -> ELD, the same shared/ code as Node. Chromium's DecompressionStream stops
// after the first gzip member, so this is what proves the member splitter on the real target.
import { mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import express from 'express';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Candidate, ExtractSummary } from '../../shared/wat/types.ts';
import { WAT_2014_GZ, bytesOf, concat, gzipMembers, watRecord } from './helpers.ts';

const root = join(import.meta.dirname, '../..');

const WORKER_SOURCE = `
import { extractWat, openWatUrl, createEldDetector, createJsMemberInflater, createWebMemberInflater } from './shared/wat/index.ts';
self.onmessage = async (event) => {
  const detect = await createEldDetector('small');
  const answers = [];
  for (const job of event.data.jobs) {
    const src = await openWatUrl(new URL(job.path, self.location.origin).href, { range: job.range });
    if (!src.ok) { answers.push({ ok: false, reason: src.reason }); continue; }
    const found = [];
    const t0 = performance.now();
    const summary = await extractWat(src.chunks, {
      startOffset: src.startOffset, endOffset: src.endOffset, totalBytes: src.totalBytes,
      detectLanguage: detect, onCandidates: (b) => { found.push(...b); },
      inflater: job.inflater === 'js' ? createJsMemberInflater() : createWebMemberInflater(),
    });
    answers.push({ ok: true, summary, found: job.keep ? found : found.length, ms: performance.now() - t0 });
  }
  self.postMessage(answers);
};
`;

interface Answer {
  ok: boolean;
  reason?: string;
  summary: ExtractSummary;
  found: Candidate[] | number;
  ms: number;
}

const N = 400;
const sliced = gzipMembers(Array.from({ length: N }, (_, n) => watRecord(`https://p${n}.example/x/`, [{ url: `${n}.jpg`, alt: `photo of item ${n}` }])));
const BIG_RECORDS = 20_000;
const bigRecords = Array.from({ length: BIG_RECORDS }, (_, n) =>
  watRecord(`https://p${n}.example/`, [
    { url: `a${n}.jpg`, alt: `a small red house near the river ${n}` },
    { url: `b${n}.png`, alt: 'logo' },
  ]),
);
const big = gzipMembers(bigRecords);
const bigPlain = concat(bigRecords);

let server: Server;
let origin: string;
let context: BrowserContext;
let page: Page;
let profile: string;

beforeAll(async () => {
  const bundle = await build({
    stdin: { contents: WORKER_SOURCE, resolveDir: root, loader: 'ts', sourcefile: 'wat-worker.ts' },
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
  });
  const workerJs = bundle.outputFiles[0]!.text;
  const files: Record<string, Uint8Array> = {
    '/real.wat.gz': bytesOf(WAT_2014_GZ),
    '/cut.wat.gz': bytesOf(WAT_2014_GZ).subarray(0, 7000),
    '/sliced.wat.gz': sliced,
    '/big.wat.gz': big,
    '/big.wat': bigPlain,
  };
  const app = express();
  app.get('/wat-worker.js', (_req, res) => void res.type('text/javascript').send(workerJs));
  app.get('/', (_req, res) => void res.type('html').send('<!doctype html><title>wat</title>'));
  app.get('/:name', (req, res) => {
    const body = files['/' + req.params.name];
    if (!body) return void res.status(404).end();
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const start = m ? Number(m[1]) : 0;
    res.status(m ? 206 : 200).set({ 'content-type': 'application/gzip', 'content-length': String(body.byteLength - start) });
    if (m) res.set('content-range', `bytes ${start}-${body.byteLength - 1}/${body.byteLength}`);
    res.end(Buffer.from(body.subarray(start)));
  });
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
  server?.closeAllConnections();
  await new Promise((ok) => server?.close(ok));
  if (profile) await rm(profile, { recursive: true, force: true });
});

function runInWorker(jobs: { path: string; range?: { start: number; end?: number }; keep?: boolean; inflater?: 'js' | 'web' }[]): Promise<Answer[]> {
  return page.evaluate(
    (jobs) =>
      new Promise<Answer[]>((resolve, reject) => {
        const w = new Worker('/wat-worker.js', { type: 'module' });
        w.onmessage = (e) => resolve(e.data as Answer[]);
        w.onerror = (e) => reject(new Error(e.message));
        w.postMessage({ jobs });
      }),
    jobs,
  );
}

it('Chromium really stops DecompressionStream("gzip") after the first member (why we split members)', async () => {
  const answer = await page.evaluate(async () => {
    const bytes = new Uint8Array(await (await fetch('/real.wat.gz')).arrayBuffer());
    const reader = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip')).getReader();
    let n = 0;
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return { n, error: null };
        n += value.byteLength;
      }
    } catch (e) {
      return { n, error: String(e) };
    }
  });
  expect(answer.n).toBe(385); // the first member only (the warcinfo record)
  expect(answer.error).toMatch(/junk/i);
});

it('in a Web Worker: the real 2014 WAT gives the SOURCES.md counts; a cut one is damaged but keeps what it read', async () => {
  const [real, cut] = await runInWorker([{ path: '/real.wat.gz', keep: true }, { path: '/cut.wat.gz', keep: true }]);
  expect(real!.summary).toMatchObject({ records: 9, metadataRecords: 8, imgLinks: 4, withAlt: 4, candidates: 2, errors: 0, damaged: false, format: 'gzip' });
  expect((real!.found as Candidate[]).map((c) => [c.url, c.alt, c.language])).toEqual([
    ['http://0pointer.de/photos/galleries/Australia/thumbs/img-495.jpg', 'Previous', 'en'],
    ['http://creativecommons.org/images/public/somerights20.png', 'Creative Commons License', 'en'],
  ]);
  expect(cut!.summary).toMatchObject({ records: 7, imgLinks: 4, damaged: true, errorsByReason: { truncated_gzip: 1 } });
});

it('in a Web Worker: three Range slices cover every member exactly once', async () => {
  const a = Math.floor(sliced.byteLength / 3);
  const b = Math.floor((2 * sliced.byteLength) / 3);
  const answers = await runInWorker([
    { path: '/sliced.wat.gz', range: { start: 0, end: a }, keep: true },
    { path: '/sliced.wat.gz', range: { start: a, end: b }, keep: true },
    { path: '/sliced.wat.gz', range: { start: b }, keep: true },
  ]);
  const alts = answers.flatMap((x) => (x.found as Candidate[]).map((c) => c.alt));
  expect(alts).toEqual(Array.from({ length: N }, (_, n) => `photo of item ${n}`));
  for (const x of answers) expect(x.summary.errors).toBe(0);
});

it('in a Web Worker: throughput on a 20,000-record WAT, both inflaters and uncompressed (printed for the report)', async () => {
  // Each twice; the second (warm) run is the figure.
  const jobs = [
    { path: '/big.wat.gz', inflater: 'web' as const },
    { path: '/big.wat.gz', inflater: 'js' as const },
    { path: '/big.wat' },
  ].flatMap((j) => [j, j]);
  const answers = await runInWorker(jobs);
  for (const [i, x] of answers.entries()) {
    expect(x.summary).toMatchObject({ records: BIG_RECORDS, candidates: BIG_RECORDS, errors: 0, format: i < 4 ? 'gzip' : 'plain' });
    expect(x.summary.dropped.shortAlt).toBe(BIG_RECORDS);
  }
  for (const i of [1, 3, 5]) {
    const x = answers[i]!;
    const seconds = x.ms / 1000;
    const how = x.summary.format === 'plain' ? 'uncompressed' : `gzip, ${jobs[i]!.inflater === 'js' ? 'JS inflate' : 'DecompressionStream'}`;
    console.log(
      `chromium worker, ${how}: ${BIG_RECORDS} records, ${(x.summary.bytes / 1e6).toFixed(1)} MB read, ${(x.summary.inflatedBytes / 1e6).toFixed(1)} MB inflated in ${seconds.toFixed(2)} s: ` +
        `${(BIG_RECORDS / seconds).toFixed(0)} records/s, ${(x.summary.inflatedBytes / 1e6 / seconds).toFixed(1)} MB/s uncompressed`,
    );
  }
});
