// Decode + CLIP preprocessing of downloaded bytes in the Node agent, with sharp (libvips).
// The checks (magic bytes, header dimensions, pixel count, size) run first on the bytes alone, so sharp
// never sees a bomb; sharp's own limitInputPixels repeats the pixel limit as a second guard.
import { createHash } from 'node:crypto';
import sharp from 'sharp';
import { checkImageBytes } from '../../shared/image/checks.ts';
import { CLIP_IMAGE_SIZE, DEFAULT_IMAGE_LIMITS, type ImageLimits } from '../../shared/image/clip.ts';
import type { ImageFormat } from '../../shared/image/header.ts';
import { pixelsToClipTensor, type PixelLayout } from '../../shared/image/tensor.ts';

export interface PrepareOptions {
  limits?: ImageLimits;
  /** Side of the square CLIP input (224 for ViT-B/32). */
  size?: number;
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
  if (!check.ok) return { ok: false, status: check.status, detail: check.detail, sha256, format: null, width: null, height: null };
  const { header } = check;
  let data: Buffer;
  let channels: number;
  try {
    const out = await sharp(bytes, { limitInputPixels: limits.maxPixels, failOn: 'error', sequentialRead: true })
      .rotate()
      .resize(size, size, { fit: 'cover', position: 'centre', kernel: 'cubic' })
      .toColourspace('srgb')
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    data = out.data;
    channels = out.info.channels;
    if (out.info.width !== size || out.info.height !== size) throw new Error(`sharp gave ${out.info.width}x${out.info.height}`);
  } catch (err) {
    return { ok: false, status: 'decode-error', detail: (err as Error).message, sha256, format: header.format, width: header.width, height: header.height };
  }
  const layout: PixelLayout = { width: size, height: size, channels: channels as PixelLayout['channels'] };
  const offset = options.offset ?? 0;
  const tensor = pixelsToClipTensor(new Uint8Array(data.buffer, data.byteOffset, data.length), layout, options.out, offset);
  return { ok: true, format: header.format, width: header.width, height: header.height, sha256, tensor, offset };
}
