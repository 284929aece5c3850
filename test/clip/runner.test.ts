import { readFile, writeFile, cp, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ortWeb from 'onnxruntime-web';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOrtNodeBackend, cudaProviderInstalled, openModelDir } from '../../server/clip/ortNode.ts';
import { dirLoader, loadManifest } from '../../server/clip/modelStore.ts';
import { bytesLoader, createClipSession, fetchLoader, type ClipBackend, type ClipSession, type Embeddings } from '../../shared/clip/runner.ts';
import { loadClipTokenizer } from '../../server/clip/vocab.ts';
import { createServer } from 'node:http';
import { buildTextModel, buildVisionModel } from '../../server/model/clipGraph.ts';
import { encodeModel, joinChunks, type ModelDef } from '../../server/model/onnxProto.ts';
import { sha256Hex, type OnnxFile } from '../../shared/clip/manifest.ts';
import { createOrtWebBackend, type OrtModule } from '../../shared/clip/ortWeb.ts';
import { l2NormalizeRows, cosine } from '../../shared/clip/score.ts';
import { modelHash, type ClipManifest } from '../../shared/clip/manifest.ts';
import { ARCHS, buildTinyModel, referenceImageEmbeds, referenceTextEmbeds, synthWeights, testPixels, testTokenRows } from '../helpers/models.ts';

const arch = ARCHS.tiny;
const S = arch.vision.imageSize;
const D = arch.embeddingSize;
// float32 graph vs float64 loops: per-component agreement of normalised embeddings.
const REFERENCE_TOLERANCE = 1e-4;
// onnxruntime-node vs onnxruntime-web (WASM): same kernels compiled differently; observed ~1e-7.
const NODE_WEB_TOLERANCE = 1e-5;

let dir: string;
let manifest: ClipManifest;
const nodeBackend = createOrtNodeBackend();
const webBackend = createOrtWebBackend(ortWeb as unknown as OrtModule, { webgpu: false });
const sessions: ClipSession[] = [];

async function open(backend: ClipBackend, devices: ('cpu' | 'wasm' | 'cuda' | 'webgpu')[], dtype: 'fp32' | 'q8' = 'fp32', m = manifest, d = dir) {
  const r = await createClipSession({ manifest: m, backend, devices, load: dirLoader(d), dtype });
  if (r.ok) sessions.push(r.session);
  return r;
}

function ok<T extends { ok: boolean }>(r: T): Extract<T, { ok: true }> {
  if (!r.ok) throw new Error(`expected ok, got ${JSON.stringify(r)}`);
  return r as Extract<T, { ok: true }>;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

beforeAll(async () => {
  const built = await buildTinyModel();
  dir = built.dir;
  manifest = built.manifest;
  const loaded = await loadManifest(dir);
  expect(loaded.ok).toBe(true);
});

afterAll(async () => {
  await Promise.all(sessions.map((s) => s.release()));
});

describe('tiny model on onnxruntime-node', () => {
  it('falls through devices that do not exist or fail, and names the supported ones', async () => {
    const r = ok(await open(nodeBackend, ['webgpu', 'cuda', 'cpu']));
    expect(r.session.backend).toBe('onnxruntime-node');
    const [webgpu, cuda, cpu] = r.session.attempts;
    expect(webgpu).toMatchObject({ device: 'webgpu', ok: false, reason: 'unsupported_device' });
    expect(webgpu!.detail).toContain(`supported: ${nodeBackend.devices.join(', ')}`);
    if (cudaProviderInstalled()) {
      // A host with onnxruntime's CUDA libraries (and a GPU) stops at CUDA.
      expect(r.session.device).toBe('cuda');
      return;
    }
    // No CUDA libraries here: the CUDA attempt fails with a reason, not a crash, and CPU is used.
    expect(r.session.device).toBe('cpu');
    expect(cuda).toMatchObject({ device: 'cuda', ok: false });
    expect(cuda!.detail).toMatch(/CUDA provider of onnxruntime-node is not installed|does not offer 'cuda'/);
    expect(cpu).toMatchObject({ device: 'cpu', ok: true, dtype: 'fp32' });
  });

  it('image and text embeddings match an independent TypeScript forward pass', async () => {
    const s = ok(await open(nodeBackend, ['cpu'])).session;
    const weights = synthWeights(arch, 1);
    const pixels = testPixels(3, S);
    const img = ok(await s.embedImages(pixels));
    expect(img.count).toBe(3);
    expect(img.dim).toBe(D);
    const refImg = l2NormalizeRows(referenceImageEmbeds(arch, weights, pixels), D);
    expect(maxAbsDiff(img.embeddings, refImg)).toBeLessThan(REFERENCE_TOLERANCE);

    const rows = testTokenRows(4);
    const txt = ok(await s.embedTexts(rows));
    const refTxt = l2NormalizeRows(referenceTextEmbeds(arch, weights, rows), D);
    expect(maxAbsDiff(txt.embeddings, refTxt)).toBeLessThan(REFERENCE_TOLERANCE);

    // Rows are unit length, and the pair scores equal a plain cosine of the reference vectors.
    for (let r = 0; r < 3; r++) {
      const row = img.embeddings.subarray(r * D, (r + 1) * D);
      expect(Math.hypot(...row)).toBeCloseTo(1, 5);
    }
    const scores = s.score(img.embeddings, txt.embeddings.subarray(0, 3 * D));
    for (let r = 0; r < 3; r++) {
      const expected = cosine(referenceImageEmbeds(arch, weights, pixels.subarray(r * 3 * S * S, (r + 1) * 3 * S * S)), refTxt.subarray(r * D, (r + 1) * D));
      expect(scores[r]).toBeCloseTo(expected, 4);
      expect(s.keep(scores[r]!)).toBe(scores[r]! >= 0.28);
    }
  });

  it('pools at the first end token: padding with 49407 instead of 0 gives the same text embedding', async () => {
    const s = ok(await open(nodeBackend, ['cpu'])).session;
    const zeroPad = testTokenRows(1)[0]!;
    const eosPad = zeroPad.map((v, i) => (i > zeroPad.indexOf(49407) ? 49407 : v));
    const a = ok(await s.embedTexts([zeroPad]));
    const b = ok(await s.embedTexts([eosPad]));
    expect(maxAbsDiff(a.embeddings, b.embeddings)).toBeLessThan(1e-6);
    const other = ok(await s.embedTexts([testTokenRows(2)[1]!]));
    expect(maxAbsDiff(a.embeddings, other.embeddings)).toBeGreaterThan(1e-2);
  });

  it('splits large batches by maxBatch and gives the same rows as one batch', async () => {
    const r = ok(await createClipSession({ manifest, backend: nodeBackend, devices: ['cpu'], load: dirLoader(dir), dtype: 'fp32', maxBatch: 2 }));
    sessions.push(r.session);
    const whole = ok(await open(nodeBackend, ['cpu'])).session;
    const pixels = testPixels(5, S, 3);
    const a = ok(await r.session.embedImages(pixels));
    const b = ok(await whole.embedImages(pixels));
    expect(maxAbsDiff(a.embeddings, b.embeddings)).toBeLessThan(1e-6);
    const flat = Int32Array.from(testTokenRows(5).flat());
    const ta = ok(await r.session.embedTexts(flat));
    const tb = ok(await whole.embedTexts(testTokenRows(5)));
    expect(maxAbsDiff(ta.embeddings, tb.embeddings)).toBeLessThan(1e-6);
  });

  it('records the model hash of the variant it runs', async () => {
    const fp = ok(await open(nodeBackend, ['cpu'], 'fp32')).session;
    const q8 = ok(await open(nodeBackend, ['cpu'], 'q8')).session;
    expect(fp.modelHash).toBe(await modelHash(manifest, 'fp32'));
    expect(q8.modelHash).toBe(await modelHash(manifest, 'q8'));
    expect(fp.modelHash).not.toBe(q8.modelHash);
    expect(fp.modelHash).toMatch(/^[0-9a-f]{64}$/);
    // Without a forced dtype, CPU picks q8 (the documented rule).
    const auto = ok(await createClipSession({ manifest, backend: nodeBackend, devices: ['cpu'], load: dirLoader(dir) }));
    sessions.push(auto.session);
    expect(auto.session.variant.dtype).toBe('q8');
  });
});

describe('with the project tokenizer and other loaders', () => {
  it('embeds tokenizer output (int64 rows) the same as the reference on those ids', async () => {
    const tok = await loadClipTokenizer();
    if (!tok.ok) throw new Error(tok.detail);
    const batch = tok.tokenizer.tokenize(['a photo of a cat', 'Een fiets tegen de muur', 'x'.repeat(400)]);
    if (!batch.ok) throw new Error(batch.detail);
    expect(batch.truncatedRows).toEqual([2]);
    const s = ok(await open(nodeBackend, ['cpu'])).session;
    const got = ok(await s.embedTexts(batch.inputIds));
    const rows = Array.from({ length: 3 }, (_, r) => Array.from(batch.inputIds.subarray(r * 77, (r + 1) * 77), Number));
    const ref = l2NormalizeRows(referenceTextEmbeds(arch, synthWeights(arch, 1), rows), D);
    expect(maxAbsDiff(got.embeddings, ref)).toBeLessThan(REFERENCE_TOLERANCE);
  });

  it('loads from memory and over HTTP, and a failed download is load_failed', async () => {
    const files: Record<string, Uint8Array> = {};
    for (const v of manifest.variants) for (const f of [v.vision, v.text]) files[f.path] = new Uint8Array(await readFile(join(dir, f.path)));
    const mem = ok(await createClipSession({ manifest, backend: nodeBackend, devices: ['cpu'], load: bytesLoader(files), dtype: 'fp32' }));
    sessions.push(mem.session);
    const server = createServer(async (req, res) => {
      try {
        res.end(await readFile(join(dir, new URL(req.url ?? '/', 'http://x').pathname.replace('/models/tiny/', ''))));
      } catch {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    try {
      const http = ok(await createClipSession({ manifest, backend: nodeBackend, devices: ['cpu'], load: fetchLoader(`http://127.0.0.1:${port}/models/tiny`), dtype: 'fp32' }));
      sessions.push(http.session);
      const px = testPixels(1, S);
      expect(maxAbsDiff(ok(await mem.session.embedImages(px)).embeddings, ok(await http.session.embedImages(px)).embeddings)).toBe(0);
      const missing = await createClipSession({ manifest, backend: nodeBackend, devices: ['cpu'], load: fetchLoader(`http://127.0.0.1:${port}/elsewhere/`), dtype: 'fp32' });
      expect(missing).toMatchObject({ ok: false, reason: 'load_failed' });
      if (!missing.ok) expect(missing.detail).toContain('HTTP 404');
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});

/** The same graph with float16 `input` and `output` (Cast at the edges), as some fp16 exports have. */
function withFloat16Io(m: ModelDef, output: string, input?: string): ModelDef {
  const nodes = m.nodes.map((n) => ({
    ...n,
    inputs: n.inputs.map((i) => (i === input ? `${i}_f32` : i)),
    outputs: n.outputs.map((o) => (o === output ? `${o}_f32` : o)),
  }));
  if (input) nodes.unshift({ op: 'Cast', name: 'cast_in', inputs: [input], outputs: [`${input}_f32`], attrs: { to: { kind: 'int', value: 1 } } });
  nodes.push({ op: 'Cast', name: 'cast_out', inputs: [`${output}_f32`], outputs: [output], attrs: { to: { kind: 'int', value: 10 } } });
  return {
    ...m,
    nodes,
    inputs: m.inputs.map((i) => (i.name === input ? { ...i, dtype: 'float16' } : i)),
    outputs: m.outputs.map((o) => (o.name === output ? { ...o, dtype: 'float16' } : o)),
  };
}

describe('float16 inputs and outputs', () => {
  it('feeds float16 pixels and reads float16 embeddings where the manifest says so', async () => {
    const weights = synthWeights(arch, 1);
    const files: Record<string, Uint8Array> = {};
    const entry = async (path: string, m: ModelDef): Promise<OnnxFile> => {
      const bytes = joinChunks(encodeModel(m));
      files[path] = bytes;
      return {
        path,
        sha256: await sha256Hex(bytes),
        bytes: bytes.byteLength,
        dtype: 'fp16',
        inputs: m.inputs.map((i) => ({ name: i.name, dtype: i.dtype as 'float16', shape: [...i.dims] })),
        outputs: m.outputs.map((o) => ({ name: o.name, dtype: o.dtype as 'float16', shape: [...o.dims] })),
      };
    };
    const vision = await entry('onnx/vision_model_fp16.onnx', withFloat16Io(buildVisionModel(arch, weights, 'fp32'), 'image_embeds', 'pixel_values'));
    const text = await entry('onnx/text_model_fp16.onnx', withFloat16Io(buildTextModel(arch, weights, 'fp32'), 'text_embeds'));
    expect(vision.inputs[0]!.dtype).toBe('float16');
    const m16: ClipManifest = { ...manifest, variants: [{ dtype: 'fp16', vision, text }] };
    const half = ok(await createClipSession({ manifest: m16, backend: nodeBackend, devices: ['cpu'], load: bytesLoader(files) }));
    sessions.push(half.session);
    expect(half.session.variant.dtype).toBe('fp16');
    const full = ok(await open(nodeBackend, ['cpu'], 'fp32')).session;
    const px = testPixels(2, S, 4);
    const rows = testTokenRows(2);
    const [hi, fi, ht, ft] = [await half.session.embedImages(px), await full.embedImages(px), await half.session.embedTexts(rows), await full.embedTexts(rows)];
    // float16 rounding of pixels and embeddings: ~1e-3 at most on unit vectors here.
    const di = maxAbsDiff(ok(hi).embeddings, ok(fi).embeddings);
    expect(di).toBeGreaterThan(0);
    expect(di).toBeLessThan(5e-3);
    expect(maxAbsDiff(ok(ht).embeddings, ok(ft).embeddings)).toBeLessThan(5e-3);
  });
});

describe('onnxruntime-web (WASM) in Node against onnxruntime-node', () => {
  it(`gives the same embeddings within ${NODE_WEB_TOLERANCE} for fp32 and q8`, async () => {
    for (const dtype of ['fp32', 'q8'] as const) {
      const n = ok(await open(nodeBackend, ['cpu'], dtype)).session;
      const w = ok(await open(webBackend, ['webgpu', 'wasm'], dtype)).session;
      expect(w.device).toBe('wasm');
      expect(w.attempts[0]).toMatchObject({ device: 'webgpu', reason: 'unsupported_device' });
      const pixels = testPixels(4, S, 7);
      const rows = testTokenRows(4);
      const [ni, wi, nt, wt] = await Promise.all([n.embedImages(pixels), w.embedImages(pixels), n.embedTexts(rows), w.embedTexts(rows)]);
      expect(maxAbsDiff(ok(ni).embeddings, ok(wi).embeddings)).toBeLessThan(NODE_WEB_TOLERANCE);
      expect(maxAbsDiff(ok(nt).embeddings, ok(wt).embeddings)).toBeLessThan(NODE_WEB_TOLERANCE);
    }
  });

  it('queues runs across all sessions of one web backend', async () => {
    let active = 0;
    let peak = 0;
    const order: string[] = [];
    const backend = createOrtWebBackend(ortWeb as unknown as OrtModule, { webgpu: false });
    const serialize = backend.serialize!.bind(backend);
    const counting: ClipBackend = {
      ...backend,
      serialize: (fn) =>
        serialize(async () => {
          active++;
          peak = Math.max(peak, active);
          try {
            return await fn();
          } finally {
            active--;
            order.push('done');
          }
        }),
    };
    const [a, b] = [ok(await open(counting, ['wasm'])).session, ok(await open(counting, ['wasm'])).session];
    const results = await Promise.all([a.embedImages(testPixels(2, S, 1)), b.embedImages(testPixels(2, S, 2)), a.embedTexts(testTokenRows(2)), b.embedTexts(testTokenRows(3))]);
    expect(results.every((r) => r.ok)).toBe(true);
    expect(order).toHaveLength(4);
    expect(peak).toBe(1);
  });

  it('runs overlapping calls one at a time and still answers each correctly', async () => {
    const w = ok(await open(webBackend, ['wasm'])).session;
    const inputs = [0, 1, 2, 3].map((k) => testPixels(1, S, k));
    const together = await Promise.all(inputs.map((p) => w.embedImages(p)));
    for (let k = 0; k < 4; k++) {
      const alone = ok(await w.embedImages(inputs[k]!));
      expect(maxAbsDiff(ok(together[k]!).embeddings, alone.embeddings)).toBe(0);
    }
  });
});

describe('bad input', () => {
  it('an empty batch gives an empty result, not a crash', async () => {
    const s = ok(await open(nodeBackend, ['cpu'])).session;
    const img = ok(await s.embedImages(new Float32Array(0)));
    expect(img.count).toBe(0);
    expect(img.embeddings.length).toBe(0);
    const txt = ok(await s.embedTexts([]));
    expect(txt.count).toBe(0);
    expect(s.score(img.embeddings, txt.embeddings).length).toBe(0);
  });

  it('text ids of the wrong length and out-of-range ids are error values', async () => {
    const s = ok(await open(nodeBackend, ['cpu'])).session;
    const long = [49406, ...Array.from({ length: 80 }, () => 320), 49407];
    expect(await s.embedTexts([long])).toMatchObject({ ok: false, reason: 'bad_text_length' });
    expect(await s.embedTexts([[49406, 320, 49407]])).toMatchObject({ ok: false, reason: 'bad_text_length' });
    expect(await s.embedTexts(new Int32Array(100))).toMatchObject({ ok: false, reason: 'bad_text_length' });
    const bad = testTokenRows(1)[0]!.slice();
    bad[3] = 49408;
    expect(await s.embedTexts([bad])).toMatchObject({ ok: false, reason: 'bad_token_id' });
    bad[3] = -1;
    expect(await s.embedTexts([bad])).toMatchObject({ ok: false, reason: 'bad_token_id' });
    expect(await s.embedImages(new Float32Array(3 * S * S + 1))).toMatchObject({ ok: false, reason: 'bad_image_batch' });
    const nan = testPixels(2, S);
    nan[3 * S * S + 5] = NaN; // second image
    const r = await s.embedImages(nan);
    expect(r).toMatchObject({ ok: false, reason: 'bad_output' });
    if (!r.ok) expect(r.detail).toContain('item 1 has a non-finite embedding');
  });

  it('refuses a file whose sha256 does not match the manifest', async () => {
    const copy = await mkdtemp(join(tmpdir(), 'crawlswarm-bad-'));
    await cp(dir, copy, { recursive: true });
    const path = join(copy, 'onnx/vision_model.onnx');
    const bytes = await readFile(path);
    bytes.writeUInt8(bytes.readUInt8(bytes.length - 5) ^ 0xff, bytes.length - 5); // one flipped byte inside the last weight
    await writeFile(path, bytes);
    const r = await open(nodeBackend, ['cpu'], 'fp32', manifest, copy);
    expect(r).toMatchObject({ ok: false, reason: 'sha256_mismatch' });
    if (!r.ok) expect(r.detail).toContain('onnx/vision_model.onnx');
  });

  it('refuses a model whose signature differs from the manifest, at load time', async () => {
    // The manifest points the vision entry at the text graph (input_ids int64, text_embeds).
    const fp32 = manifest.variants.find((v) => v.dtype === 'fp32')!;
    const swapped: ClipManifest = { ...manifest, variants: [{ ...fp32, vision: { ...fp32.text, inputs: fp32.vision.inputs, outputs: fp32.vision.outputs } }] };
    const r = await open(nodeBackend, ['cpu'], 'fp32', swapped);
    expect(r).toMatchObject({ ok: false, reason: 'wrong_signature' });
    if (!r.ok) {
      expect(r.detail).toContain("input 'pixel_values' missing");
      expect(r.detail).toContain("model needs input 'input_ids'");
    }
    // A wrong embedding size in the manifest shape is caught too.
    const wrongDim: ClipManifest = {
      ...manifest,
      variants: [{ ...fp32, text: { ...fp32.text, outputs: [{ ...fp32.text.outputs[0]!, shape: ['batch_size', 512] }, ...fp32.text.outputs.slice(1)] } }],
    };
    const r2 = await open(nodeBackend, ['cpu'], 'fp32', wrongDim);
    expect(r2).toMatchObject({ ok: false, reason: 'wrong_signature' });
    if (!r2.ok) expect(r2.detail).toContain("output 'text_embeds' dim 1 is 16, manifest says 512");
  });

  it('a device list with nothing usable fails with the supported devices named', async () => {
    const r = await open(webBackend, ['cuda', 'cpu']);
    expect(r).toMatchObject({ ok: false, reason: 'unsupported_device' });
    if (!r.ok) {
      expect(r.attempts).toHaveLength(2);
      expect(r.detail).toContain('supported: wasm');
    }
  });

  it('openModelDir opens a model directory, and reports a missing manifest as a value', async () => {
    const r = ok(await openModelDir(dir));
    sessions.push(r.session);
    expect(r.session.device).toBe('cpu');
    expect(r.session.variant.dtype).toBe('q8');
    const missing = await openModelDir(join(dir, 'nowhere'));
    expect(missing).toMatchObject({ ok: false, reason: 'load_failed' });
    if (!missing.ok) expect(missing.detail).toContain('manifest_missing');
  });

  it('a released session answers with an error value', async () => {
    const r = await createClipSession({ manifest, backend: nodeBackend, devices: ['cpu'], load: dirLoader(dir) });
    const s = ok(r).session;
    await s.release();
    expect(await s.embedImages(testPixels(1, S))).toMatchObject({ ok: false, reason: 'released' });
  });
});

export type { Embeddings };
