// `model fetch clip-vit-b-32`: downloads the public ONNX export of openai/clip-vit-base-patch32 made for
// transformers.js (Hugging Face repository Xenova/clip-vit-base-patch32: onnx/vision_model.onnx,
// onnx/vision_model_quantized.onnx, onnx/text_model*.onnx, plus config.json and preprocessor_config.json),
// hashes each file while it streams to disk, reads each graph's real inputs and outputs with
// onnxruntime-node, and writes manifest.json. Nothing here is specific to the real weights: the tests run
// it against a local server that serves a synthesized model in the same layout.
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { LAION_EN_VIT_B_32_THRESHOLD, MANIFEST_SCHEMA, type ClipManifest, type ModelDtype, type ModelVariant, type OnnxFile, type TensorSpec } from '../../shared/clip/manifest.ts';
import { writeManifest } from '../clip/modelStore.ts';
import { exportFileName } from './synth.ts';

export interface FetchableModel {
  name: string;
  repo: string;
  base: string;
  /** fp32 and q8 must exist; fp16 is taken when the repository has it. */
  variants: { dtype: ModelDtype; required: boolean }[];
  threshold: number;
  thresholdSource: string;
  /** exp(logit_scale) of the trained checkpoint (config.json only has the init value). */
  logitScale: number;
}

export const FETCHABLE: Record<string, FetchableModel> = {
  'clip-vit-b-32': {
    name: 'CLIP ViT-B/32 (openai/clip-vit-base-patch32, transformers.js ONNX export)',
    repo: 'Xenova/clip-vit-base-patch32',
    base: 'https://huggingface.co/Xenova/clip-vit-base-patch32/resolve/main/',
    variants: [
      { dtype: 'fp32', required: true },
      { dtype: 'q8', required: true },
      { dtype: 'fp16', required: false },
    ],
    threshold: LAION_EN_VIT_B_32_THRESHOLD,
    thresholdSource: 'LAION-5B (Schuhmann et al. 2022): English pairs kept at cosine >= 0.28 with ViT-B/32',
    logitScale: 100,
  },
};

export type FetchFailureReason = 'unknown_model' | 'download_failed' | 'bad_config' | 'bad_model';
export type FetchResult = { ok: true; manifest: ClipManifest; dir: string } | { ok: false; reason: FetchFailureReason; detail: string };

export interface FetchOptions {
  id: string;
  outDir: string;
  /** Repository base URL (ending in `/`); default the Hugging Face `resolve/main/` URL. */
  from?: string;
  fetchImpl?: typeof fetch;
  log?: (line: string) => void;
}

type Download = { ok: true; sha256: string; bytes: number } | { ok: false; status: number; detail: string };

async function download(fetchImpl: typeof fetch, url: string, path: string, log: (l: string) => void): Promise<Download> {
  let res: Response;
  try {
    res = await fetchImpl(url, { redirect: 'follow' });
  } catch (e) {
    return { ok: false, status: 0, detail: `${url}: ${(e as Error).message}` };
  }
  if (!res.ok || !res.body) return { ok: false, status: res.status, detail: `${url}: HTTP ${res.status}` };
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.partial`;
  const hash = createHash('sha256');
  const out = createWriteStream(tmp);
  let bytes = 0;
  let lastLog = 0;
  const total = Number(res.headers.get('content-length') ?? 0);
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      hash.update(chunk);
      bytes += chunk.byteLength;
      if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', r));
      if (bytes - lastLog > 32e6) {
        lastLog = bytes;
        log(`  ${url}: ${(bytes / 1e6).toFixed(0)}${total ? ` / ${(total / 1e6).toFixed(0)}` : ''} MB`);
      }
    }
    await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())));
  } catch (e) {
    out.destroy();
    await rm(tmp, { force: true });
    return { ok: false, status: 0, detail: `${url}: ${(e as Error).message}` };
  }
  await rename(tmp, path);
  return { ok: true, sha256: hash.digest('hex'), bytes };
}

/** The graph's inputs and outputs as onnxruntime reads them (names, element types, dims). */
export async function readOnnxSignature(path: string): Promise<{ inputs: TensorSpec[]; outputs: TensorSpec[] }> {
  const session = await ort.InferenceSession.create(path);
  try {
    const spec = (m: ort.InferenceSession.ValueMetadata): TensorSpec => {
      if (!m.isTensor) throw new Error(`'${m.name}' is not a tensor`);
      return { name: m.name, dtype: m.type as TensorSpec['dtype'], shape: m.shape.map((d) => (typeof d === 'number' && d < 0 ? 'dynamic' : d)) };
    };
    return { inputs: session.inputMetadata.map(spec), outputs: session.outputMetadata.map(spec) };
  } finally {
    await session.release();
  }
}

function readImageSize(pre: Record<string, unknown>): number | undefined {
  const crop = pre.crop_size;
  if (typeof crop === 'number') return crop;
  if (crop && typeof crop === 'object' && typeof (crop as { height?: unknown }).height === 'number') return (crop as { height: number }).height;
  return undefined;
}

export async function fetchModel(opts: FetchOptions): Promise<FetchResult> {
  const spec = FETCHABLE[opts.id];
  if (!spec) return { ok: false, reason: 'unknown_model', detail: `no model '${opts.id}'; known: ${Object.keys(FETCHABLE).join(', ')}` };
  const base = (opts.from ?? spec.base).replace(/\/?$/, '/');
  const fetchImpl = opts.fetchImpl ?? fetch;
  const log = opts.log ?? (() => undefined);

  const configs: Record<string, Record<string, unknown>> = {};
  for (const name of ['config.json', 'preprocessor_config.json']) {
    const got = await download(fetchImpl, base + name, join(opts.outDir, name), log);
    if (!got.ok) return { ok: false, reason: 'download_failed', detail: got.detail };
    try {
      configs[name] = JSON.parse(await readFile(join(opts.outDir, name), 'utf8'));
    } catch (e) {
      return { ok: false, reason: 'bad_config', detail: `${name}: ${(e as Error).message}` };
    }
  }
  const config = configs['config.json']!;
  const pre = configs['preprocessor_config.json']!;
  const imageSize = readImageSize(pre);
  const mean = pre.image_mean as number[] | undefined;
  const std = pre.image_std as number[] | undefined;
  const embeddingSize = config.projection_dim;
  const contextLength = (config.text_config as { max_position_embeddings?: unknown } | undefined)?.max_position_embeddings;
  if (!imageSize || mean?.length !== 3 || std?.length !== 3 || typeof embeddingSize !== 'number' || typeof contextLength !== 'number') {
    return { ok: false, reason: 'bad_config', detail: 'config.json / preprocessor_config.json lack projection_dim, max_position_embeddings, crop_size, image_mean or image_std' };
  }

  const variants: ModelVariant[] = [];
  for (const v of spec.variants) {
    const files: OnnxFile[] = [];
    for (const tower of ['vision', 'text'] as const) {
      const path = exportFileName(tower, v.dtype);
      const url = base + path;
      log(`downloading ${url}`);
      const got = await download(fetchImpl, url, join(opts.outDir, path), log);
      if (!got.ok) {
        if (!v.required && got.status === 404) break;
        return { ok: false, reason: 'download_failed', detail: got.detail };
      }
      let signature: { inputs: TensorSpec[]; outputs: TensorSpec[] };
      try {
        signature = await readOnnxSignature(join(opts.outDir, path));
      } catch (e) {
        return { ok: false, reason: 'bad_model', detail: `${path}: onnxruntime cannot open it: ${(e as Error).message}` };
      }
      // The runner reads outputs[0]: put the embedding first whatever order the export uses.
      const embedName = tower === 'vision' ? 'image_embeds' : 'text_embeds';
      const outputs = [...signature.outputs].sort((a, b) => Number(b.name === embedName) - Number(a.name === embedName));
      if (outputs[0]?.name !== embedName) return { ok: false, reason: 'bad_model', detail: `${path}: no '${embedName}' output (has ${outputs.map((o) => o.name).join(', ')})` };
      files.push({ path, url, sha256: got.sha256, bytes: got.bytes, dtype: v.dtype, inputs: signature.inputs, outputs });
    }
    if (files.length === 2) variants.push({ dtype: v.dtype, vision: files[0]!, text: files[1]! });
  }

  const manifest: ClipManifest = {
    schema: MANIFEST_SCHEMA,
    id: opts.id,
    name: spec.name,
    source: `hf:${spec.repo}`,
    imageSize,
    mean: mean as [number, number, number],
    std: std as [number, number, number],
    embeddingSize,
    contextLength,
    logitScale: spec.logitScale,
    threshold: spec.threshold,
    thresholdSource: spec.thresholdSource,
    variants,
  };
  await writeManifest(opts.outDir, manifest);
  return { ok: true, manifest, dir: opts.outDir };
}
