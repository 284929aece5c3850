// @vitest-environment node
// The model loader against a real HTTP server on loopback: progress, sha256 checks, the cache (a second load
// makes no request), damaged cache entries, pruning after a manifest change, GET /api/model answers.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex, type OnnxFile } from '../../shared/clip/manifest.ts';
import { ByteBucket } from '../../client/worker/limits.ts';
import { memoryModelCache } from '../../client/worker/modelCache.ts';
import { cachedFileLoader, fetchActiveModel, pruneModelCache, type ModelProgress } from '../../client/worker/modelLoader.ts';

const bytes = new Uint8Array(300_000).map((_, i) => (i * 7) & 255);
let sha: string;
let server: Server;
let base: string;
const hits: string[] = [];
let modelAnswer: { status: number; body: unknown } = { status: 404, body: { error: 'no_model', detail: 'none' } };

function fileOf(path: string, over: Partial<OnnxFile> = {}): OnnxFile {
  return { path, sha256: sha, bytes: bytes.length, dtype: 'fp32', inputs: [{ name: 'x', dtype: 'float32', shape: [1] }], outputs: [{ name: 'y', dtype: 'float32', shape: [1] }], ...over };
}

beforeAll(async () => {
  sha = await sha256Hex(bytes);
  server = createServer((req, res) => {
    hits.push(req.url ?? '');
    if (req.url === '/api/model') {
      res.writeHead(modelAnswer.status, { 'content-type': 'application/json' });
      return void res.end(JSON.stringify(modelAnswer.body));
    }
    if (req.url === '/models/m/long.onnx') return void res.end(Buffer.concat([Buffer.from(bytes), Buffer.from('extra')]));
    if (req.url?.startsWith('/models/m/')) {
      // in pieces, so progress has something to report
      res.writeHead(200, { 'content-length': bytes.length });
      let at = 0;
      const step = () => {
        if (at >= bytes.length) return void res.end();
        res.write(bytes.subarray(at, at + 65536));
        at += 65536;
        setTimeout(step, 2);
      };
      return step();
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe('model loader', () => {
  it('downloads with progress, checks sha256, caches; the second load makes no request', async () => {
    const cache = memoryModelCache();
    const progress: ModelProgress[] = [];
    const load = cachedFileLoader({ filesBase: `${base}/models/m/`, cache, onProgress: (p) => progress.push(p), progressEveryMs: 0 });
    hits.length = 0;
    const first = await load(fileOf('vision.onnx'));
    expect(first.ok && (await sha256Hex(first.bytes))).toBe(sha);
    expect(hits).toEqual(['/models/m/vision.onnx']);
    const phases = progress.map((p) => p.phase);
    expect(phases[0]).toBe('initiate');
    expect(phases[1]).toBe('download');
    expect(phases.at(-1)).toBe('done');
    const loaded = progress.filter((p) => p.phase === 'progress').map((p) => p.loadedBytes);
    expect(loaded.length).toBeGreaterThan(1);
    expect([...loaded].sort((a, b) => a - b)).toEqual(loaded);
    expect(progress.at(-1)).toMatchObject({ loadedBytes: bytes.length, totalBytes: bytes.length, fromCache: false });
    expect(await cache.keys()).toEqual([sha]);

    progress.length = 0;
    const second = await load(fileOf('vision.onnx'));
    expect(second.ok).toBe(true);
    expect(hits).toEqual(['/models/m/vision.onnx']); // no new request
    expect(progress.map((p) => [p.phase, p.fromCache])).toEqual([['initiate', false], ['done', true]]);
  });

  it('replaces a damaged cached copy, and refuses bytes that do not match the manifest', async () => {
    const cache = memoryModelCache();
    await cache.put(sha, bytes.slice(0, 1000));
    const warnings: string[] = [];
    const load = cachedFileLoader({ filesBase: `${base}/models/m/`, cache, onWarning: (w) => warnings.push(w) });
    expect((await load(fileOf('vision.onnx'))).ok).toBe(true);
    expect(warnings.join()).toMatch(/damaged/);
    expect(cache.store.get(sha)!.byteLength).toBe(bytes.length);

    const wrong = await load(fileOf('vision.onnx', { sha256: 'a'.repeat(64) }));
    expect(wrong).toMatchObject({ ok: false, reason: 'load_failed' });
    expect(!wrong.ok && wrong.detail).toMatch(/sha256/);
    expect(cache.store.has('a'.repeat(64))).toBe(false);
    const uncached = cachedFileLoader({ filesBase: `${base}/models/m/`, cache: null });
    const long = await uncached(fileOf('long.onnx'));
    expect(!long.ok && long.detail).toMatch(/more than/);
    const missing = await load(fileOf('nope/../x.onnx', { sha256: 'b'.repeat(64) }));
    expect(missing.ok).toBe(false);
  });

  it('the bandwidth cap paces the model download too', async () => {
    let slept = 0;
    const clock = { nowMs: () => 0, sleepMs: async (ms: number) => void (slept += ms) };
    const bucket = new ByteBucket(100_000, clock);
    const load = cachedFileLoader({ filesBase: `${base}/models/m/`, cache: null, bucket });
    expect((await load(fileOf('vision.onnx'))).ok).toBe(true);
    // 300,000 bytes at 100,000 B/s with a 100,000-byte burst and a clock that never moves: 2 s owed.
    expect(slept).toBeGreaterThan(1_000);
  });

  it('prunes files the new manifest no longer lists', async () => {
    const cache = memoryModelCache();
    await cache.put('old'.padEnd(64, '0'), new Uint8Array(1));
    await cache.put(sha, bytes);
    const manifest = { variants: [{ dtype: 'fp32', vision: fileOf('v.onnx'), text: fileOf('t.onnx') }] } as never;
    expect(await pruneModelCache(cache, manifest)).toEqual(['old'.padEnd(64, '0')]);
    expect(await cache.keys()).toEqual([sha]);
  });

  it('GET /api/model: 404 means no model; a bad manifest is refused', async () => {
    modelAnswer = { status: 404, body: { error: 'no_model', detail: 'none' } };
    expect(await fetchActiveModel(base)).toMatchObject({ ok: false, reason: 'no_model' });
    modelAnswer = { status: 200, body: { manifest: { schema: 'nope' }, hash: 'x', filesBase: '/models/m/' } };
    expect(await fetchActiveModel(base)).toMatchObject({ ok: false, reason: 'bad_manifest' });
    expect(await fetchActiveModel('http://127.0.0.1:1')).toMatchObject({ ok: false, reason: 'unreachable' });
  });
});
