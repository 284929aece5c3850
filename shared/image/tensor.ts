// Pixels -> CLIP input: uint8 interleaved (HWC) pixels of the already resized and cropped image become
// float32 planar (CHW) values normalised with CLIP's mean and std. The agent feeds it sharp's raw output,
// the page feeds it ImageData from an OffscreenCanvas; both then hand the same tensor layout to ONNX.
import { CLIP_MEAN, CLIP_STD } from './clip.ts';

export interface PixelLayout {
  width: number;
  height: number;
  /** 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA. Alpha is dropped, as PIL's convert("RGB") does after the resize. */
  channels: 1 | 2 | 3 | 4;
}

/** 256-entry tables per channel: (v / 255 - mean) / std, computed once per call site that wants speed. */
export function clipLookupTables(mean: readonly number[] = CLIP_MEAN, std: readonly number[] = CLIP_STD): Float32Array[] {
  return [0, 1, 2].map((c) => {
    const t = new Float32Array(256);
    for (let v = 0; v < 256; v++) t[v] = (v / 255 - mean[c]!) / std[c]!;
    return t;
  });
}

const DEFAULT_TABLES = /* pure constant data, not state */ clipLookupTables();

/** The tables for a model's mean and std (its manifest), built once per distinct pair. */
const tableCache = new Map<string, Float32Array[]>();
export function tablesFor(mean: readonly number[], std: readonly number[]): Float32Array[] {
  const key = `${mean.join(',')}/${std.join(',')}`;
  let t = tableCache.get(key);
  if (!t) tableCache.set(key, (t = clipLookupTables(mean, std)));
  return t;
}

/**
 * Writes 3 x height x width floats into `out` starting at element `offset` (so a batch tensor of shape
 * [N, 3, 224, 224] is filled in place: offset = i * 3 * 224 * 224), and returns `out`.
 */
export function pixelsToClipTensor(
  pixels: Uint8Array | Uint8ClampedArray,
  layout: PixelLayout,
  out: Float32Array = new Float32Array(3 * layout.width * layout.height),
  offset = 0,
  tables: Float32Array[] = DEFAULT_TABLES,
): Float32Array {
  const { width, height, channels } = layout;
  const plane = width * height;
  if (pixels.length < plane * channels) throw new RangeError(`pixels: ${pixels.length} < ${plane}x${channels}`);
  if (offset < 0 || offset + 3 * plane > out.length) throw new RangeError(`out: offset ${offset} + ${3 * plane} > ${out.length}`);
  const [tr, tg, tb] = tables as [Float32Array, Float32Array, Float32Array];
  const r0 = offset;
  const g0 = offset + plane;
  const b0 = offset + 2 * plane;
  if (channels >= 3) {
    for (let p = 0, s = 0; p < plane; p++, s += channels) {
      out[r0 + p] = tr[pixels[s]!]!;
      out[g0 + p] = tg[pixels[s + 1]!]!;
      out[b0 + p] = tb[pixels[s + 2]!]!;
    }
  } else {
    for (let p = 0, s = 0; p < plane; p++, s += channels) {
      const v = pixels[s]!;
      out[r0 + p] = tr[v]!;
      out[g0 + p] = tg[v]!;
      out[b0 + p] = tb[v]!;
    }
  }
  return out;
}
