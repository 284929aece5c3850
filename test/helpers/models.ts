// Test helpers for CLIP: build the synthetic models, and an independent forward pass of the CLIP
// architecture in plain TypeScript (loops, no ONNX) over the same seeded weights, to check the graphs.
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ARCHS, synthWeights, type ClipArch, type Weight } from '../../server/model/clipArch.ts';
import { synthModel, type SynthResult } from '../../server/model/synth.ts';
import { dirLoader, loadManifest, verifyModelDir } from '../../server/clip/modelStore.ts';
import type { ClipManifest } from '../../shared/clip/manifest.ts';
import type { GraphDtype } from '../../server/model/clipGraph.ts';

/** Builds the tiny model (about 100 kB, 224 x 224 input like the real one, well under a second) into a fresh temporary directory. */
export async function buildTinyModel(opts: { seed?: number; dtypes?: GraphDtype[] } = {}): Promise<SynthResult> {
  const dir = await mkdtemp(join(tmpdir(), 'crawlswarm-tiny-'));
  return synthModel({ arch: 'tiny', outDir: dir, seed: opts.seed ?? 1, ...(opts.dtypes ? { dtypes: opts.dtypes } : {}) });
}

const REPO = join(import.meta.dirname, '../..');
const GENERATOR_SOURCES = ['clipArch.ts', 'clipGraph.ts', 'quantize.ts', 'onnxProto.ts', 'synth.ts'].map((f) => join(REPO, 'server/model', f));

/**
 * The synthetic vit-b-32 (fp32 + q8, ~765 MB) under `.bench-cache/`, built on first use (~10 s) and rebuilt
 * whenever the generator's source changes (the directory name carries a hash of it).
 */
export async function cachedVitB32(log: (line: string) => void = () => undefined): Promise<{ dir: string; manifest: ClipManifest }> {
  const h = createHash('sha256');
  for (const f of GENERATOR_SOURCES) h.update(await readFile(f));
  const dir = join(REPO, '.bench-cache', `synth-vit-b-32-${h.digest('hex').slice(0, 12)}`);
  const existing = await loadManifest(dir);
  if (existing.ok && (await verifyModelDir(dir, existing.manifest)).ok) return { dir, manifest: existing.manifest };
  await rm(dir, { recursive: true, force: true });
  log(`synthesizing vit-b-32 into ${dir}`);
  const built = await synthModel({ arch: 'vit-b-32', outDir: dir, seed: 1, log });
  return { dir, manifest: built.manifest };
}

export { dirLoader };

/** Deterministic test pixels in roughly the normalised range, [n, 3, S, S]. */
export function testPixels(n: number, size: number, salt = 0): Float32Array {
  const out = new Float32Array(n * 3 * size * size);
  for (let i = 0; i < out.length; i++) out[i] = Math.sin(i * 0.37 + salt * 1.3) * 1.5 + Math.cos(i * 0.011 + salt) * 0.5;
  return out;
}

/** Rows of 77 ids: start token, some words, end token, zero padding (openai/CLIP's padding). */
export function testTokenRows(n: number, contextLength = 77): number[][] {
  const rows: number[][] = [];
  for (let r = 0; r < n; r++) {
    const words = Array.from({ length: 3 + ((r * 5) % 11) }, (_, k) => 300 + ((r * 7919 + k * 104729) % 49000));
    const row = [49406, ...words, 49407];
    while (row.length < contextLength) row.push(0);
    rows.push(row);
  }
  return rows;
}

function w(weights: Map<string, Weight>, name: string): Float32Array {
  const t = weights.get(name);
  if (!t) throw new Error(`missing weight ${name}`);
  return t.data;
}

/** y[t, o] = sum_i x[t, i] * W[i, o] + b[o] */
function linear(x: Float64Array, rows: number, inDim: number, W: Float32Array, outDim: number, b?: Float32Array): Float64Array {
  const y = new Float64Array(rows * outDim);
  for (let t = 0; t < rows; t++) {
    for (let o = 0; o < outDim; o++) {
      let s = b ? b[o]! : 0;
      for (let i = 0; i < inDim; i++) s += x[t * inDim + i]! * W[i * outDim + o]!;
      y[t * outDim + o] = s;
    }
  }
  return y;
}

function layerNorm(x: Float64Array, rows: number, dim: number, g: Float32Array, b: Float32Array): Float64Array {
  const y = new Float64Array(x.length);
  for (let t = 0; t < rows; t++) {
    let mean = 0;
    for (let i = 0; i < dim; i++) mean += x[t * dim + i]!;
    mean /= dim;
    let v = 0;
    for (let i = 0; i < dim; i++) v += (x[t * dim + i]! - mean) ** 2;
    const inv = 1 / Math.sqrt(v / dim + 1e-5);
    for (let i = 0; i < dim; i++) y[t * dim + i] = (x[t * dim + i]! - mean) * inv * g[i]! + b[i]!;
  }
  return y;
}

function encoderLayer(x: Float64Array, T: number, width: number, heads: number, mlp: number, weights: Map<string, Weight>, prefix: string, causal: boolean): Float64Array {
  const p = (n: string) => w(weights, `${prefix}.${n}`);
  const hd = width / heads;
  const h = layerNorm(x, T, width, p('ln1.g'), p('ln1.b'));
  const q = linear(h, T, width, p('q.w'), width, p('q.b'));
  const k = linear(h, T, width, p('k.w'), width, p('k.b'));
  const v = linear(h, T, width, p('v.w'), width, p('v.b'));
  const ctx = new Float64Array(T * width);
  for (let head = 0; head < heads; head++) {
    for (let i = 0; i < T; i++) {
      const scores = new Float64Array(T);
      let max = -Infinity;
      for (let j = 0; j < T; j++) {
        if (causal && j > i) {
          scores[j] = -Infinity;
          continue;
        }
        let s = 0;
        for (let d = 0; d < hd; d++) s += q[i * width + head * hd + d]! * k[j * width + head * hd + d]!;
        scores[j] = s / Math.sqrt(hd);
        max = Math.max(max, scores[j]!);
      }
      let sum = 0;
      for (let j = 0; j < T; j++) {
        scores[j] = Math.exp(scores[j]! - max);
        sum += scores[j]!;
      }
      for (let j = 0; j < T; j++) {
        const a = scores[j]! / sum;
        for (let d = 0; d < hd; d++) ctx[i * width + head * hd + d] = ctx[i * width + head * hd + d]! + a * v[j * width + head * hd + d]!;
      }
    }
  }
  const attn = linear(ctx, T, width, p('o.w'), width, p('o.b'));
  const x1 = x.map((val, i) => val + attn[i]!);
  const h2 = layerNorm(x1, T, width, p('ln2.g'), p('ln2.b'));
  const f1 = linear(h2, T, width, p('fc1.w'), mlp, p('fc1.b'));
  const act = f1.map((z) => z / (1 + Math.exp(-1.702 * z)));
  const f2 = linear(act, T, mlp, p('fc2.w'), width, p('fc2.b'));
  return x1.map((val, i) => val + f2[i]!);
}

/** Unnormalised image embeddings [n, E] of the vision tower, computed with loops in float64. */
export function referenceImageEmbeds(arch: ClipArch, weights: Map<string, Weight>, pixels: Float32Array): Float32Array {
  const { imageSize: S, patchSize: P, width, layers, heads, mlp } = arch.vision;
  const pool = arch.vision.pool ?? 1;
  const grid = S / pool / P;
  const T = grid * grid + 1;
  const n = pixels.length / (3 * S * S);
  const E = arch.embeddingSize;
  const out = new Float32Array(n * E);
  const conv = w(weights, 'vision.patch.w');
  for (let img = 0; img < n; img++) {
    const raw = (c: number, y: number, x: number) => pixels[img * 3 * S * S + c * S * S + y * S + x]!;
    // Mean of each pool x pool block (tiny only), then the patch convolution on the pooled image.
    const px = (c: number, y: number, x: number) => {
      if (pool === 1) return raw(c, y, x);
      let s = 0;
      for (let dy = 0; dy < pool; dy++) for (let dx = 0; dx < pool; dx++) s += raw(c, y * pool + dy, x * pool + dx);
      return s / (pool * pool);
    };
    let x: Float64Array = new Float64Array(T * width);
    const cls = w(weights, 'vision.class');
    for (let c = 0; c < width; c++) x[c] = cls[c]!;
    for (let gy = 0; gy < grid; gy++) {
      for (let gx = 0; gx < grid; gx++) {
        const t = 1 + gy * grid + gx;
        for (let oc = 0; oc < width; oc++) {
          let s = 0;
          for (let c = 0; c < 3; c++) for (let ky = 0; ky < P; ky++) for (let kx = 0; kx < P; kx++) s += conv[((oc * 3 + c) * P + ky) * P + kx]! * px(c, gy * P + ky, gx * P + kx);
          x[t * width + oc] = s;
        }
      }
    }
    const pos = w(weights, 'vision.pos');
    x = x.map((v, i) => v + pos[i]!);
    x = layerNorm(x, T, width, w(weights, 'vision.pre_ln.g'), w(weights, 'vision.pre_ln.b'));
    for (let l = 0; l < layers; l++) x = encoderLayer(x, T, width, heads, mlp, weights, `vision.l${l}`, false);
    const pooled = layerNorm(x.slice(0, width), 1, width, w(weights, 'vision.post_ln.g'), w(weights, 'vision.post_ln.b'));
    out.set(linear(pooled, 1, width, w(weights, 'vision.proj'), E), img * E);
  }
  return out;
}

/** Unnormalised text embeddings [n, E] of the text tower for rows of token ids. */
export function referenceTextEmbeds(arch: ClipArch, weights: Map<string, Weight>, rows: readonly (readonly number[])[]): Float32Array {
  const { width, layers, heads, mlp, vocabSize } = arch.text;
  const E = arch.embeddingSize;
  const out = new Float32Array(rows.length * E);
  const tok = w(weights, 'text.tok');
  const pos = w(weights, 'text.pos');
  rows.forEach((ids, r) => {
    const T = ids.length;
    let x: Float64Array = new Float64Array(T * width);
    for (let t = 0; t < T; t++) {
      const id = ids[t]! % vocabSize;
      for (let c = 0; c < width; c++) x[t * width + c] = tok[id * width + c]! + pos[t * width + c]!;
    }
    for (let l = 0; l < layers; l++) x = encoderLayer(x, T, width, heads, mlp, weights, `text.l${l}`, true);
    x = layerNorm(x, T, width, w(weights, 'text.final_ln.g'), w(weights, 'text.final_ln.b'));
    let eos = 0;
    for (let t = 1; t < T; t++) if (ids[t]! > ids[eos]!) eos = t;
    out.set(linear(x.slice(eos * width, (eos + 1) * width), 1, width, w(weights, 'text.proj'), E), r * E);
  });
  return out;
}

export { ARCHS, synthWeights };
