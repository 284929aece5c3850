// `model synth`: builds a CLIP model with seeded random weights and the public export's signature, writes
// it in the Hugging Face layout of the transformers.js export (onnx/vision_model.onnx,
// onnx/vision_model_quantized.onnx, onnx/text_model*.onnx, config.json, preprocessor_config.json) and
// writes manifest.json. The layout lets `model fetch` be tested against a local server serving this.
import { join } from 'node:path';
import { mkdir, writeFile } from 'node:fs/promises';
import { CLIP_MEAN, CLIP_STD, LAION_EN_VIT_B_32_THRESHOLD, MANIFEST_SCHEMA, type ClipManifest, type ModelVariant, type OnnxFile } from '../../shared/clip/manifest.ts';
import { writeChunksHashed, writeManifest } from '../clip/modelStore.ts';
import { ARCHS, parameterCounts, synthWeights, type ClipArch } from './clipArch.ts';
import { buildTextModel, buildVisionModel, type GraphDtype } from './clipGraph.ts';
import { encodeModel, type ModelDef } from './onnxProto.ts';

export const SYNTH_DTYPES: readonly GraphDtype[] = ['fp32', 'q8'];

/** Transformers.js file names: `<tower>_model.onnx` (fp32) and `<tower>_model_quantized.onnx` (q8). */
export function exportFileName(tower: 'vision' | 'text', dtype: 'fp32' | 'fp16' | 'q8'): string {
  const suffix = dtype === 'fp32' ? '' : dtype === 'fp16' ? '_fp16' : '_quantized';
  return `onnx/${tower}_model${suffix}.onnx`;
}

export interface SynthOptions {
  arch: ClipArch['id'];
  dtypes?: readonly GraphDtype[];
  seed?: number;
  outDir: string;
  log?: (line: string) => void;
}

export interface SynthResult {
  manifest: ClipManifest;
  dir: string;
  parameters: { vision: number; text: number };
  published?: ClipArch['published'];
}

function fileEntry(path: string, model: ModelDef, dtype: GraphDtype, written: { sha256: string; bytes: number }): OnnxFile {
  return {
    path,
    sha256: written.sha256,
    bytes: written.bytes,
    dtype,
    inputs: model.inputs.map((i) => ({ name: i.name, dtype: i.dtype as 'int64' | 'float32', shape: [...i.dims] })),
    outputs: model.outputs.map((o) => ({ name: o.name, dtype: o.dtype as 'float32', shape: [...o.dims] })),
  };
}

/** The HF config files the real repository has (only the fields `model fetch` reads). */
export function hfConfigFiles(arch: ClipArch): { config: unknown; preprocessor: unknown } {
  return {
    config: {
      model_type: 'clip',
      projection_dim: arch.embeddingSize,
      text_config: { hidden_size: arch.text.width, num_hidden_layers: arch.text.layers, max_position_embeddings: arch.text.contextLength, vocab_size: arch.text.vocabSize },
      vision_config: { hidden_size: arch.vision.width, num_hidden_layers: arch.vision.layers, image_size: arch.vision.imageSize, patch_size: arch.vision.patchSize },
    },
    preprocessor: {
      crop_size: { height: arch.vision.imageSize, width: arch.vision.imageSize },
      size: { shortest_edge: arch.vision.imageSize },
      image_mean: [...CLIP_MEAN],
      image_std: [...CLIP_STD],
      resample: 3,
    },
  };
}

export async function synthModel(opts: SynthOptions): Promise<SynthResult> {
  const arch = ARCHS[opts.arch];
  const seed = opts.seed ?? 1;
  const dtypes = opts.dtypes ?? SYNTH_DTYPES;
  const log = opts.log ?? (() => undefined);
  const t0 = Date.now();
  const weights = synthWeights(arch, seed);
  log(`weights: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  const variants: ModelVariant[] = [];
  for (const dtype of dtypes) {
    const files: Partial<Record<'vision' | 'text', OnnxFile>> = {};
    for (const tower of ['vision', 'text'] as const) {
      const t1 = Date.now();
      const model = tower === 'vision' ? buildVisionModel(arch, weights, dtype) : buildTextModel(arch, weights, dtype);
      const path = exportFileName(tower, dtype);
      const written = await writeChunksHashed(join(opts.outDir, path), encodeModel(model).chunks);
      files[tower] = fileEntry(path, model, dtype, written);
      log(`${path}: ${(written.bytes / 1e6).toFixed(2)} MB, ${((Date.now() - t1) / 1000).toFixed(1)} s`);
    }
    variants.push({ dtype, vision: files.vision!, text: files.text! });
  }
  const hf = hfConfigFiles(arch);
  await mkdir(opts.outDir, { recursive: true });
  await writeFile(join(opts.outDir, 'config.json'), JSON.stringify(hf.config, null, 2) + '\n');
  await writeFile(join(opts.outDir, 'preprocessor_config.json'), JSON.stringify(hf.preprocessor, null, 2) + '\n');
  const manifest: ClipManifest = {
    schema: MANIFEST_SCHEMA,
    id: `synth-${arch.id}`,
    name: `synthetic CLIP ${arch.id} (seeded random weights; real signature, meaningless scores)`,
    source: `synthetic:${arch.id}:seed=${seed}`,
    imageSize: arch.vision.imageSize,
    mean: [...CLIP_MEAN],
    std: [...CLIP_STD],
    embeddingSize: arch.embeddingSize,
    contextLength: arch.text.contextLength,
    logitScale: 100,
    threshold: LAION_EN_VIT_B_32_THRESHOLD,
    thresholdSource: 'LAION-5B en, ViT-B/32 (kept so that code paths match the real model; random weights make it meaningless here)',
    variants,
  };
  await writeManifest(opts.outDir, manifest);
  const result: SynthResult = { manifest, dir: opts.outDir, parameters: parameterCounts(arch) };
  if (arch.published) result.published = arch.published;
  return result;
}
