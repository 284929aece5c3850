// CLIP architectures the project can synthesize, their seeded random weights and parameter counts.
// Shapes follow openai/clip-vit-base-patch32 (HF CLIPModel config: vision hidden 768, 12 layers, 12 heads,
// intermediate 3072, patch 32, image 224; text hidden 512, 12 layers, 8 heads, intermediate 2048,
// vocab 49408, 77 positions; projection 512; QuickGELU; layer-norm eps 1e-5).
import { mulberry32 } from '../../shared/random.ts';

export interface TowerShape {
  width: number;
  layers: number;
  heads: number;
  /** Hidden size of the MLP (intermediate_size). */
  mlp: number;
}

export interface ClipArch {
  id: 'tiny' | 'vit-b-32';
  /**
   * `pool` (tiny only) averages pool x pool pixel blocks before the patch convolution, so the tiny model
   * takes the same 224 x 224 input as the real one while its convolution stays a few kB.
   */
  vision: TowerShape & { imageSize: number; patchSize: number; pool?: number };
  /**
   * `vocabSize` below 49408 (tiny only) makes the graph take token ids modulo the vocabulary before the
   * embedding lookup, so real tokenizer output (ids up to 49407) still runs on a model of a few kB.
   */
  text: TowerShape & { vocabSize: number; contextLength: number };
  embeddingSize: number;
  /** Published parameter counts (vision tower + projection, text tower + projection), for comparison. */
  published?: { vision: number; text: number; source: string };
}

export const CLIP_VOCAB_SIZE = 49408;

export const ARCHS: Record<ClipArch['id'], ClipArch> = {
  'vit-b-32': {
    id: 'vit-b-32',
    vision: { imageSize: 224, patchSize: 32, width: 768, layers: 12, heads: 12, mlp: 3072 },
    text: { vocabSize: CLIP_VOCAB_SIZE, contextLength: 77, width: 512, layers: 12, heads: 8, mlp: 2048 },
    embeddingSize: 512,
    published: { vision: 87.8e6, text: 63.2e6, source: 'openai/CLIP model card and paper (ViT-B/32: ~88M image, ~63M text)' },
  },
  tiny: {
    id: 'tiny',
    vision: { imageSize: 224, pool: 7, patchSize: 8, width: 16, layers: 1, heads: 2, mlp: 32 },
    text: { vocabSize: 256, contextLength: 77, width: 16, layers: 1, heads: 2, mlp: 32 },
    embeddingSize: 16,
  },
};

/** One weight tensor: a name shared by the ONNX graph and the TypeScript reference, dims and values. */
export interface Weight {
  name: string;
  dims: number[];
  data: Float32Array;
}

/** Class token + patches: 50 for ViT-B/32 at 224. */
export function visionTokens(arch: ClipArch): number {
  const v = arch.vision;
  return (v.imageSize / (v.pool ?? 1) / v.patchSize) ** 2 + 1;
}

/** Names and dims of every weight, in generation order (the order fixes the seeded values). */
export function weightShapes(arch: ClipArch): { name: string; dims: number[]; init: WeightInit }[] {
  const out: { name: string; dims: number[]; init: WeightInit }[] = [];
  const v = arch.vision;
  const t = arch.text;
  const tokens = visionTokens(arch);
  out.push({ name: 'vision.patch.w', dims: [v.width, 3, v.patchSize, v.patchSize], init: { std: 1 / Math.sqrt(3 * v.patchSize ** 2) } });
  out.push({ name: 'vision.class', dims: [v.width], init: { std: v.width ** -0.5 } });
  out.push({ name: 'vision.pos', dims: [tokens, v.width], init: { std: v.width ** -0.5 } });
  out.push(...layerNorm('vision.pre_ln', v.width));
  for (let i = 0; i < v.layers; i++) out.push(...layer(`vision.l${i}`, v));
  out.push(...layerNorm('vision.post_ln', v.width));
  out.push({ name: 'vision.proj', dims: [v.width, arch.embeddingSize], init: { std: v.width ** -0.5 } });
  // CLIP's own init: token embedding std 0.02, positions 0.01.
  out.push({ name: 'text.tok', dims: [t.vocabSize, t.width], init: { std: 0.02 } });
  out.push({ name: 'text.pos', dims: [t.contextLength, t.width], init: { std: 0.01 } });
  for (let i = 0; i < t.layers; i++) out.push(...layer(`text.l${i}`, t));
  out.push(...layerNorm('text.final_ln', t.width));
  out.push({ name: 'text.proj', dims: [t.width, arch.embeddingSize], init: { std: t.width ** -0.5 } });
  return out;
}

/** Uniform values with this standard deviation around `mean`. */
export interface WeightInit {
  std: number;
  mean?: number;
}

function layerNorm(prefix: string, width: number) {
  return [
    { name: `${prefix}.g`, dims: [width], init: { std: 0.1, mean: 1 } },
    { name: `${prefix}.b`, dims: [width], init: { std: 0.02 } },
  ];
}

function layer(prefix: string, s: TowerShape) {
  const w = s.width;
  // Linear weights are stored [in, out] (ONNX MatMul order); std 1/sqrt(fan_in) keeps activations near unit scale.
  const lin = (name: string, i: number, o: number) => [
    { name: `${prefix}.${name}.w`, dims: [i, o], init: { std: 1 / Math.sqrt(i) } },
    { name: `${prefix}.${name}.b`, dims: [o], init: { std: 0.02 } },
  ];
  return [
    ...layerNorm(`${prefix}.ln1`, w),
    ...lin('q', w, w),
    ...lin('k', w, w),
    ...lin('v', w, w),
    ...lin('o', w, w),
    ...layerNorm(`${prefix}.ln2`, w),
    ...lin('fc1', w, s.mlp),
    ...lin('fc2', s.mlp, w),
  ];
}


/**
 * Seeded weights: each tensor draws from its own stream (seed mixed with its index), so one tensor's
 * values do not depend on the sizes of those before it.
 */
export function synthWeights(arch: ClipArch, seed: number): Map<string, Weight> {
  const out = new Map<string, Weight>();
  weightShapes(arch).forEach((s, index) => {
    const n = s.dims.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    const rand = mulberry32((Math.imul(seed, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca6b)) >>> 0);
    const half = s.init.std * Math.sqrt(3);
    const mean = s.init.mean ?? 0;
    for (let i = 0; i < n; i++) data[i] = mean + (rand() * 2 - 1) * half;
    out.set(s.name, { name: s.name, dims: s.dims, data });
  });
  return out;
}

/** Parameter counts of each tower (projection included), computed from the shapes. */
export function parameterCounts(arch: ClipArch): { vision: number; text: number } {
  let vision = 0;
  let text = 0;
  for (const s of weightShapes(arch)) {
    const n = s.dims.reduce((a, b) => a * b, 1);
    if (s.name.startsWith('vision.')) vision += n;
    else text += n;
  }
  return { vision, text };
}
