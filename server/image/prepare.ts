// Decode + CLIP preprocessing of downloaded bytes in the Node agent, with sharp (libvips).
// The checks (magic bytes, header dimensions, pixel count, size) run first on the bytes alone, so sharp
// never sees a bomb; sharp's own limitInputPixels repeats the pixel limit as a second guard.
import { createHash } from 'node:crypto';
import sharp from 'sharp';
import { checkImageBytes } from '../../shared/image/checks.ts';
import { CLIP_IMAGE_SIZE, DEFAULT_IMAGE_LIMITS, type ImageLimits } from '../../shared/image/clip.ts';
import type { ImageFormat } from '../../shared/image/header.ts';
import { pixelsToClipTensor, tablesFor, type PixelLayout } from '../../shared/image/tensor.ts';

export interface PrepareOptions {
  limits?: ImageLimits;
  /** Side of the square CLIP input (the manifest's imageSize; 224 for ViT-B/32). */
  size?: number;
  /** The model's normalisation (manifest mean and std); CLIP's by default. */
  mean?: readonly number[];
  std?: readonly number[];
  /** A preallocated (batch) tensor to write into, at element `offset`; a new one is made otherwise. */
  out?: Float32Array;
  offset?: number;
}

export type PrepareOutcome =
  | {
      ok: true;
      format: ImageFormat;
      /** Original size as displayed (after EXIF orientation). */
      width: number;
      height: number;
      sha256: string;
      /** The tensor written (the `out` passed in, or a new 3 x size x size one). */
      tensor: Float32Array;
      offset: number;
    }
  | { ok: false; status: 'not-image' | 'decode-error' | 'bomb' | 'too-small'; detail: string; sha256: string; format: ImageFormat | null; width: number | null; height: number | null };

/**
 * Decoded, oriented, resized and cropped 8-bit pixels (1-4 channels, size x size), with torchvision's
 * geometry: shorter side `size`, longer side truncated, crop offsets rounded half-to-even.
 * Embedded ICC profiles are ignored, as Pillow (and so CLIP's training pipeline) ignores them.
 */
async function decodeToClipPixels(bytes: Uint8Array, width: number, height: number, size: number, maxPixels: number): Promise<{ data: Buffer; channels: number }> {
  const [nw, nh] = clipResizeDims(width, height, size);
  const crop = { left: roundHalfEven((nw - size) / 2), top: roundHalfEven((nh - size) / 2), width: size, height: size };
  const input = sharp(bytes, { limitInputPixels: maxPixels, failOn: 'error', ignoreIcc: true }).rotate();
  let out: { data: Buffer; info: { width: number; height: number; channels: number } };
  if (nw > width || nh > height) {
    // Enlarging: sharp's resize() enlarges with another pixel-centre convention (about 5 grey levels off
    // Pillow on average). An affine map with Pillow's convention, src = (dst + 0.5) / scale - 0.5, and
    // libvips' bicubic interpolator (Catmull-Rom, like Pillow's BICUBIC) matches Pillow inside the image;
    // only the outermost pixels differ (Pillow renormalises its kernel at the border, libvips extends
    // the edge). Affine has no built-in crop step, so the crop is a second, cheap pass on small pixels.
    const enlarged = await input
      .affine([[nw / width, 0], [0, nh / height]], { interpolator: sharp.interpolators.bicubic, idx: 0.5, idy: 0.5, odx: -0.5, ody: -0.5 })
      .toColourspace('srgb')
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    const { width: w, height: h, channels } = enlarged.info;
    if (w < crop.left + size || h < crop.top + size) throw new Error(`enlarged to ${w}x${h}, expected ${nw}x${nh}`);
    out = await sharp(enlarged.data, { raw: { width: w, height: h, channels: channels as 1 | 2 | 3 | 4 } })
      .extract(crop)
      .raw()
      .toBuffer({ resolveWithObject: true });
  } else {
    out = await input.resize(nw, nh, { fit: 'fill', kernel: 'cubic' }).extract(crop).toColourspace('srgb').raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  }
  if (out.info.width !== size || out.info.height !== size) throw new Error(`sharp gave ${out.info.width}x${out.info.height}`);
  return { data: out.data, channels: out.info.channels };
}

/** torchvision Resize(size) on a w x h image: the shorter side becomes `size`, the longer int(size * long / short). */
export function clipResizeDims(width: number, height: number, size: number): [number, number] {
  return width <= height ? [size, Math.floor((size * height) / width)] : [Math.floor((size * width) / height), size];
}

/** Python 3's round(): halves go to the even neighbour (torchvision's CenterCrop offsets use it). */
export function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const diff = x - f;
  if (diff > 0.5) return f + 1;
  if (diff < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Runs the checks, then decodes: EXIF orientation applied, shorter side resized to `size` with bicubic
 * (Catmull-Rom, a = -0.5, the kernel of Pillow's BICUBIC), centre crop, 8-bit sRGB, alpha dropped after
 * the resize as openai/CLIP's convert("RGB") does, then normalised float32 CHW.
 */
export async function prepareImage(bytes: Uint8Array, options: PrepareOptions = {}): Promise<PrepareOutcome> {
  const limits = options.limits ?? DEFAULT_IMAGE_LIMITS;
  const size = options.size ?? CLIP_IMAGE_SIZE;
  const sha256 = sha256Hex(bytes);
  const check = checkImageBytes(bytes, limits);
  if (!check.ok) {
    const h = check.header;
    return { ok: false, status: check.status, detail: check.detail, sha256, format: h?.format ?? null, width: h?.width ?? null, height: h?.height ?? null };
  }
  const { header } = check;
  let data: Buffer;
  let channels: number;
  try {
    ({ data, channels } = await decodeToClipPixels(bytes, header.width, header.height, size, limits.maxPixels));
  } catch (err) {
    return { ok: false, status: 'decode-error', detail: (err as Error).message, sha256, format: header.format, width: header.width, height: header.height };
  }
  const layout: PixelLayout = { width: size, height: size, channels: channels as PixelLayout['channels'] };
  const offset = options.offset ?? 0;
  const tables = options.mean && options.std ? tablesFor(options.mean, options.std) : undefined;
  const tensor = pixelsToClipTensor(new Uint8Array(data.buffer, data.byteOffset, data.length), layout, options.out, offset, tables);
  return { ok: true, format: header.format, width: header.width, height: header.height, sha256, tensor, offset };
}
