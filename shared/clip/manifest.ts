// The model manifest: a small JSON file naming a CLIP model's ONNX files and everything a client needs to
// run and trust them. The coordinator serves it; agents and pages verify every file's sha256 before use,
// and each result records `modelHash` (sha256 of the canonical manifest reduced to the variant used).
import { z } from 'zod';

export const MANIFEST_SCHEMA = 'crawlswarm-clip-manifest/1';
export const MODEL_DTYPES = ['fp32', 'fp16', 'q8'] as const;
export type ModelDtype = (typeof MODEL_DTYPES)[number];

/**
 * LAION-5B (Schuhmann et al., 2022, "LAION-5B: An open large-scale dataset for training next generation
 * image-text models", section 3 "Dataset Composition / filtering"): English pairs were kept when the cosine
 * similarity of OpenAI CLIP ViT-B/32 image and text embeddings was >= 0.28 (0.26 for the multilingual set
 * with mCLIP; LAION-400M / Crawling@Home used 0.3).
 */
export const LAION_EN_VIT_B_32_THRESHOLD = 0.28;

/** openai/CLIP preprocessing constants (clip/clip.py `_transform`; HF CLIPImageProcessor image_mean/std). */
export const CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073] as const;
export const CLIP_STD = [0.26862954, 0.26130258, 0.27577711] as const;

const Sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'sha256 must be 64 lowercase hex digits');

/** One graph input or output: name, element type, dims (a string dim is symbolic, e.g. `batch_size`). */
export const TensorSpec = z.object({
  name: z.string().min(1),
  dtype: z.enum(['float32', 'float16', 'int64', 'int32']),
  shape: z.array(z.union([z.number().int().nonnegative(), z.string().min(1)])),
});
export type TensorSpec = z.infer<typeof TensorSpec>;

/**
 * One ONNX file. `inputs[0]` is what the runner feeds (pixel_values / input_ids; an `attention_mask` input,
 * where an export has one, is fed too); `outputs[0]` is the embedding it reads (image_embeds / text_embeds).
 */
export const OnnxFile = z.object({
  /** Path relative to the manifest's directory (and to the coordinator's model route). */
  path: z.string().min(1).refine((p) => !p.startsWith('/') && !p.split('/').includes('..'), 'path must stay inside the model directory'),
  /** Where it was downloaded from, when it came from outside (model fetch). */
  url: z.string().url().optional(),
  sha256: Sha256Hex,
  bytes: z.number().int().positive(),
  dtype: z.enum(MODEL_DTYPES),
  inputs: z.array(TensorSpec).min(1),
  outputs: z.array(TensorSpec).min(1),
});
export type OnnxFile = z.infer<typeof OnnxFile>;

export const ModelVariant = z.object({
  dtype: z.enum(MODEL_DTYPES),
  vision: OnnxFile,
  text: OnnxFile,
});
export type ModelVariant = z.infer<typeof ModelVariant>;

export const ClipManifest = z.object({
  schema: z.literal(MANIFEST_SCHEMA),
  /** Stable id, also the directory name under models/ (`clip-vit-b-32`, `synth-tiny`). */
  id: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/),
  name: z.string().min(1),
  /** Where the weights come from: `hf:Xenova/clip-vit-base-patch32`, `synthetic:tiny:seed=1`. */
  source: z.string().min(1),
  imageSize: z.number().int().positive(),
  mean: z.tuple([z.number(), z.number(), z.number()]),
  std: z.tuple([z.number().positive(), z.number().positive(), z.number().positive()]),
  embeddingSize: z.number().int().positive(),
  contextLength: z.number().int().positive(),
  /** exp(logit_scale) of the trained model (100 for ViT-B/32); only for softmax over many texts. */
  logitScale: z.number().positive(),
  /** Pairs with cosine similarity >= threshold are kept. */
  threshold: z.number().min(-1).max(1),
  thresholdSource: z.string().optional(),
  variants: z
    .array(ModelVariant)
    .min(1)
    .refine((vs) => new Set(vs.map((v) => v.dtype)).size === vs.length, 'one variant per dtype'),
});
export type ClipManifest = z.infer<typeof ClipManifest>;

export type ManifestParse = { ok: true; manifest: ClipManifest } | { ok: false; reason: 'bad_manifest'; detail: string };

export function parseManifest(json: unknown): ManifestParse {
  const r = ClipManifest.safeParse(json);
  if (r.success) return { ok: true, manifest: r.data };
  return { ok: false, reason: 'bad_manifest', detail: r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') };
}

/** Devices a runner can ask for (transformers.js names). */
export const DEVICES = ['webgpu', 'wasm', 'cpu', 'cuda'] as const;
export type Device = (typeof DEVICES)[number];

/**
 * Which variant each device prefers, first match wins. GPUs (WebGPU, CUDA) run float kernels well and
 * integer ones poorly, so they take fp32 (fp16 when that is all there is). WASM and CPU take q8: int8
 * matrix products are ~2-3x faster there and the public exports ship q8 for exactly this. q8 on a GPU is
 * the last resort.
 */
export const VARIANT_PREFERENCE: Record<Device, readonly ModelDtype[]> = {
  webgpu: ['fp32', 'fp16', 'q8'],
  cuda: ['fp32', 'fp16', 'q8'],
  wasm: ['q8', 'fp32', 'fp16'],
  cpu: ['q8', 'fp32', 'fp16'],
};

export function pickVariant(manifest: ClipManifest, device: Device, preferDtype?: ModelDtype): ModelVariant {
  const order = preferDtype ? [preferDtype, ...VARIANT_PREFERENCE[device]] : VARIANT_PREFERENCE[device];
  for (const d of order) {
    const v = manifest.variants.find((x) => x.dtype === d);
    if (v) return v;
  }
  // The schema guarantees at least one variant.
  return manifest.variants[0]!;
}

/** JSON with object keys sorted at every level and no whitespace: the bytes that get hashed. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** sha256 of the whole canonical manifest (all variants). */
export async function manifestHash(manifest: ClipManifest): Promise<string> {
  return sha256Hex(new TextEncoder().encode(canonicalJson(manifest)));
}

/**
 * The hash a result records: the canonical manifest with only the variant that ran, so fp32 and q8
 * results are told apart while adding a variant to the manifest does not change existing hashes.
 */
export async function modelHash(manifest: ClipManifest, dtype: ModelDtype): Promise<string> {
  const variant = manifest.variants.find((v) => v.dtype === dtype);
  if (!variant) throw new Error(`modelHash: manifest ${manifest.id} has no ${dtype} variant`);
  return sha256Hex(new TextEncoder().encode(canonicalJson({ ...manifest, variants: [variant] })));
}
