import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, normalize } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOrtNodeBackend } from '../../server/clip/ortNode.ts';
import { dirLoader, hashFile, loadManifest, verifyModelDir } from '../../server/clip/modelStore.ts';
import { ARCHS, parameterCounts, synthWeights } from '../../server/model/clipArch.ts';
import { buildTextModel, buildVisionModel } from '../../server/model/clipGraph.ts';
import { canonicalJson, ClipManifest, modelHash, parseManifest, pickVariant } from '../../shared/clip/manifest.ts';
import { createClipSession } from '../../shared/clip/runner.ts';
import { buildTinyModel, testPixels, testTokenRows } from '../helpers/models.ts';

const run = promisify(execFile);
const CLI = join(import.meta.dirname, '../../server/cli/crawlswarm.mjs');
const cli = (args: string[]) => run(process.execPath, [CLI, ...args], { cwd: join(import.meta.dirname, '../..') }).then(
  (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
  (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
);

const tmps: string[] = [];
async function tmp(prefix: string) {
  const d = await mkdtemp(join(tmpdir(), prefix));
  tmps.push(d);
  return d;
}
afterAll(async () => {
  await Promise.all(tmps.map((d) => rm(d, { recursive: true, force: true })));
});

describe('model synth', () => {
  it('writes the transformers.js layout, a valid manifest, and prints parameter counts', async () => {
    const out = await tmp('synth-cli-');
    const r = await cli(['model', 'synth', '--arch', 'tiny', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('parameters: vision 5904');
    expect(r.stdout).toContain('text   7840');
    const m = await loadManifest(out);
    if (!m.ok) throw new Error(m.detail);
    expect(m.manifest.variants.map((v) => [v.vision.path, v.text.path])).toEqual([
      ['onnx/vision_model.onnx', 'onnx/text_model.onnx'],
      ['onnx/vision_model_quantized.onnx', 'onnx/text_model_quantized.onnx'],
    ]);
    expect(await verifyModelDir(out, m.manifest)).toEqual({ ok: true });
    // The signature of the public export, as written in the manifest.
    const fp32 = m.manifest.variants[0]!;
    expect(fp32.vision.inputs).toEqual([{ name: 'pixel_values', dtype: 'float32', shape: ['batch_size', 'num_channels', 'height', 'width'] }]);
    expect(fp32.vision.outputs.map((o) => o.name)).toEqual(['image_embeds', 'last_hidden_state']);
    expect(fp32.text.inputs).toEqual([{ name: 'input_ids', dtype: 'int64', shape: ['batch_size', 'sequence_length'] }]);
    expect(fp32.text.outputs.map((o) => o.name)).toEqual(['text_embeds', 'last_hidden_state']);
    // A few kB each.
    for (const v of m.manifest.variants) for (const f of [v.vision, v.text]) expect(f.bytes).toBeLessThan(40_000);
  });

  it('rejects bad arguments with exit status 2', async () => {
    const results = await Promise.all([
      cli(['model', 'synth', '--arch', 'vit-h-14']),
      cli(['model', 'synth', '--arch', 'tiny', '--dtype', 'int4']),
      cli(['model', 'frobnicate']),
    ]);
    expect(results.map((r) => r.code)).toEqual([2, 2, 2]);
    expect(results[0]!.stderr).toContain('--arch must be one of');
  });

  it('is deterministic for a seed and differs across seeds', async () => {
    const [a, b, c] = await Promise.all([buildTinyModel({ seed: 7 }), buildTinyModel({ seed: 7 }), buildTinyModel({ seed: 8 })]);
    expect(a.manifest.variants[0]!.vision.sha256).toBe(b.manifest.variants[0]!.vision.sha256);
    expect(a.manifest.variants[1]!.text.sha256).toBe(b.manifest.variants[1]!.text.sha256);
    expect(a.manifest.variants[0]!.vision.sha256).not.toBe(c.manifest.variants[0]!.vision.sha256);
  });

  it('vit-b-32 has the published parameter counts of CLIP ViT-B/32', () => {
    const counts = parameterCounts(ARCHS['vit-b-32']);
    // conv 2,359,296 + class 768 + positions 38,400 + 2 LN + 12 x 7,087,872 + projection 393,216
    expect(counts.vision).toBe(87_849_216);
    // tokens 25,296,896 + positions 39,424 + 12 x 3,152,384 + LN + projection 262,144
    expect(counts.text).toBe(63_428_096);
    expect(Math.abs(counts.vision / 87.8e6 - 1)).toBeLessThan(0.01);
    expect(Math.abs(counts.text / 63.2e6 - 1)).toBeLessThan(0.01);
  });

  it('q8 graphs quantise every weight MatMul the way quantize_dynamic does', () => {
    const arch = ARCHS.tiny;
    const w = synthWeights(arch, 1);
    for (const build of [buildVisionModel, buildTextModel]) {
      const fp = build(arch, w, 'fp32');
      const q = build(arch, w, 'q8');
      const weightMatMuls = fp.nodes.filter((n) => n.op === 'MatMul' && fp.initializers.some((t) => t.name === n.inputs[1])).length;
      expect(weightMatMuls).toBeGreaterThan(0);
      expect(q.nodes.filter((n) => n.op === 'MatMulInteger').length).toBe(weightMatMuls);
      expect(q.nodes.filter((n) => n.op === 'DynamicQuantizeLinear').length).toBe(weightMatMuls);
      expect(q.nodes.some((n) => n.op === 'MatMul' && q.initializers.some((t) => t.name === n.inputs[1]))).toBe(false);
      const u8 = q.initializers.filter((t) => t.dtype === 'uint8').reduce((s, t) => s + t.raw.byteLength, 0);
      expect(u8).toBeGreaterThan(0);
    }
  });
});

describe('q8 against fp32 (tiny model)', () => {
  // Bound for the tiny model (width 16, where per-tensor activation quantisation is coarsest). The
  // vit-b-32 bound (0.01, measured ~0.003) is checked in model.slow.test.ts.
  const TINY_DRIFT_BOUND = 0.03;
  it(`similarity drift stays below ${TINY_DRIFT_BOUND} over all image x text pairs`, async () => {
    const { dir, manifest } = await buildTinyModel();
    const backend = createOrtNodeBackend();
    const open = async (dtype: 'fp32' | 'q8') => {
      const r = await createClipSession({ manifest, backend, devices: ['cpu'], load: dirLoader(dir), dtype });
      if (!r.ok) throw new Error(r.detail);
      return r.session;
    };
    const [f, q] = [await open('fp32'), await open('q8')];
    const n = 24;
    const D = manifest.embeddingSize;
    const px = testPixels(n, manifest.imageSize, 11);
    const rows = testTokenRows(n);
    const [fi, qi, ft, qt] = await Promise.all([f.embedImages(px), q.embedImages(px), f.embedTexts(rows), q.embedTexts(rows)]);
    if (!fi.ok || !qi.ok || !ft.ok || !qt.ok) throw new Error('embedding failed');
    let worst = 0;
    let differs = false;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        let a = 0;
        let b = 0;
        for (let k = 0; k < D; k++) {
          a += fi.embeddings[i * D + k]! * ft.embeddings[j * D + k]!;
          b += qi.embeddings[i * D + k]! * qt.embeddings[j * D + k]!;
        }
        worst = Math.max(worst, Math.abs(a - b));
        if (a !== b) differs = true;
      }
    }
    expect(differs).toBe(true); // q8 really is a different computation
    expect(worst).toBeLessThan(TINY_DRIFT_BOUND);
    await Promise.all([f.release(), q.release()]);
  });
});

describe('manifest', () => {
  let manifest: ClipManifest;
  beforeAll(async () => {
    manifest = (await buildTinyModel()).manifest;
  });

  it('rejects bad hashes, escaping paths and duplicate variants', () => {
    const v = manifest.variants[0]!;
    expect(parseManifest({ ...manifest, variants: [{ ...v, vision: { ...v.vision, sha256: 'abc' } }] })).toMatchObject({ ok: false, reason: 'bad_manifest' });
    expect(parseManifest({ ...manifest, variants: [{ ...v, text: { ...v.text, path: '../../etc/passwd' } }] })).toMatchObject({ ok: false });
    expect(parseManifest({ ...manifest, variants: [v, v] })).toMatchObject({ ok: false });
    expect(parseManifest({ ...manifest, threshold: 2 })).toMatchObject({ ok: false });
    expect(parseManifest(JSON.parse(JSON.stringify(manifest)))).toMatchObject({ ok: true });
  });

  it('model hash is over canonical JSON: key order does not matter, content does', async () => {
    const reordered = JSON.parse(JSON.stringify(Object.fromEntries(Object.entries(manifest).reverse()))) as ClipManifest;
    expect(canonicalJson(reordered)).toBe(canonicalJson(manifest));
    expect(await modelHash(reordered, 'fp32')).toBe(await modelHash(manifest, 'fp32'));
    expect(await modelHash({ ...manifest, threshold: 0.3 }, 'fp32')).not.toBe(await modelHash(manifest, 'fp32'));
    // Dropping the q8 variant leaves the fp32 hash as it was.
    expect(await modelHash({ ...manifest, variants: [manifest.variants[0]!] }, 'fp32')).toBe(await modelHash(manifest, 'fp32'));
  });

  it('picks fp32 for GPUs and q8 for WASM/CPU, falling back to what exists', () => {
    expect(pickVariant(manifest, 'webgpu').dtype).toBe('fp32');
    expect(pickVariant(manifest, 'cuda').dtype).toBe('fp32');
    expect(pickVariant(manifest, 'wasm').dtype).toBe('q8');
    expect(pickVariant(manifest, 'cpu').dtype).toBe('q8');
    const onlyFp32 = { ...manifest, variants: [manifest.variants[0]!] };
    expect(pickVariant(onlyFp32, 'wasm').dtype).toBe('fp32');
  });
});

describe('model fetch (against a local server in the Hugging Face layout)', () => {
  let server: Server;
  let base: string;
  let servedDir: string;
  const requests: string[] = [];
  let missing = new Set<string>();

  beforeAll(async () => {
    servedDir = (await buildTinyModel({ seed: 3 })).dir;
    server = createServer(async (req, res) => {
      const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)).replace(/^\/+/, '');
      requests.push(path);
      if (missing.has(path) || path.includes('..')) {
        res.writeHead(404).end('not found');
        return;
      }
      try {
        const body = await readFile(join(servedDir, path));
        res.writeHead(200, { 'content-length': body.byteLength, 'content-type': 'application/octet-stream' }).end(body);
      } catch {
        res.writeHead(404).end('not found');
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const addr = server.address();
    if (!addr || typeof addr === 'string') throw new Error('no address');
    base = `http://127.0.0.1:${addr.port}/`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('downloads fp32 and q8, skips the absent fp16, hashes, and writes a manifest the runner accepts', async () => {
    missing = new Set();
    const out = await tmp('fetch-');
    const r = await cli(['model', 'fetch', 'clip-vit-b-32', '--from', base, '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(requests).toContain('onnx/vision_model_fp16.onnx'); // asked for, 404, skipped
    const m = await loadManifest(out);
    if (!m.ok) throw new Error(m.detail);
    expect(m.manifest.id).toBe('clip-vit-b-32');
    expect(m.manifest.source).toBe('hf:Xenova/clip-vit-base-patch32');
    expect(m.manifest.variants.map((v) => v.dtype)).toEqual(['fp32', 'q8']);
    // Sizes from preprocessor_config.json / config.json of the served repository.
    expect(m.manifest.imageSize).toBe(224);
    expect(m.manifest.embeddingSize).toBe(16);
    expect(m.manifest.threshold).toBe(0.28);
    for (const v of m.manifest.variants) {
      for (const f of [v.vision, v.text]) {
        expect(f.url).toBe(base + f.path);
        expect(await hashFile(join(servedDir, f.path))).toEqual({ sha256: f.sha256, bytes: f.bytes });
      }
    }
    // Signature read back from the files by onnxruntime.
    expect(m.manifest.variants[0]!.text.inputs).toEqual([{ name: 'input_ids', dtype: 'int64', shape: ['batch_size', 'sequence_length'] }]);
    expect(m.manifest.variants[0]!.vision.outputs[0]!.name).toBe('image_embeds');

    // Everything after the download: the fetched model runs and equals the served one.
    const served = await loadManifest(servedDir);
    if (!served.ok) throw new Error(served.detail);
    const backend = createOrtNodeBackend();
    const a = await createClipSession({ manifest: m.manifest, backend, devices: ['cpu'], load: dirLoader(out), dtype: 'q8' });
    const b = await createClipSession({ manifest: served.manifest, backend, devices: ['cpu'], load: dirLoader(servedDir), dtype: 'q8' });
    if (!a.ok || !b.ok) throw new Error('session failed');
    const rows = testTokenRows(2);
    const [ta, tb] = [await a.session.embedTexts(rows), await b.session.embedTexts(rows)];
    if (!ta.ok || !tb.ok) throw new Error('embed failed');
    expect(Array.from(ta.embeddings)).toEqual(Array.from(tb.embeddings));
    const ia = await a.session.embedImages(testPixels(1, 224));
    expect(ia.ok).toBe(true);
    await Promise.all([a.session.release(), b.session.release()]);
  });

  it('fails with download_failed when a required file is missing, and leaves no manifest', async () => {
    missing = new Set(['onnx/text_model_quantized.onnx']);
    const out = await tmp('fetch-missing-');
    const r = await cli(['model', 'fetch', 'clip-vit-b-32', '--from', base, '--out', out]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('download_failed');
    expect(r.stderr).toContain('text_model_quantized.onnx: HTTP 404');
    expect((await loadManifest(out)).ok).toBe(false);
  });

  it('fails with bad_model when a download is not an ONNX graph', async () => {
    missing = new Set();
    const junkDir = await tmp('fetch-junk-src-');
    const { cp, writeFile } = await import('node:fs/promises');
    await cp(servedDir, junkDir, { recursive: true });
    await writeFile(join(junkDir, 'onnx/vision_model.onnx'), 'this is an HTML error page');
    const previous = servedDir;
    servedDir = junkDir;
    try {
      const out = await tmp('fetch-junk-');
      const r = await cli(['model', 'fetch', 'clip-vit-b-32', '--from', base, '--out', out]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('bad_model');
    } finally {
      servedDir = previous;
    }
  });

  it('refuses an unknown model name', async () => {
    const r = await cli(['model', 'fetch', 'clip-vit-l-14']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('clip-vit-b-32');
  });
});
