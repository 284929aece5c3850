// @vitest-environment node
// The page's Pillow-BICUBIC resize against Pillow itself (test/fixtures/preprocess/reference.json, made with
// Debian's python3-pil): decoded pixels come from sharp here (PNG decoding is exact, so any difference is
// the resize), then the same crop geometry and tensor step as the page.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { clipResizeDims, roundHalfEven } from '../../client/worker/prepareImage.ts';
import { resizeCropPillowBicubic } from '../../client/worker/resample.ts';
import { pixelsToClipTensor } from '../../shared/image/tensor.ts';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures');
const reference = JSON.parse(readFileSync(join(FIXTURES, 'preprocess', 'reference.json'), 'utf8')) as {
  size: number;
  stride: number;
  images: Record<string, { mode: string; width: number; height: number; sample: number[] }>;
};
/** One grey level in normalised units, for the widest std (0.2613). */
const ONE_LEVEL = 1 / 255 / 0.26130258;

async function pageTensor(file: string): Promise<Float32Array> {
  const { data, info } = await sharp(readFileSync(join(FIXTURES, 'images', file)), { ignoreIcc: true }).rotate().ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  const size = reference.size;
  const [nw, nh] = clipResizeDims(info.width, info.height, size);
  const rgba = resizeCropPillowBicubic(new Uint8ClampedArray(data.buffer, data.byteOffset, data.length), info.width, info.height, {
    width: nw, height: nh, left: roundHalfEven((nw - size) / 2), top: roundHalfEven((nh - size) / 2), cropWidth: size, cropHeight: size,
  });
  return pixelsToClipTensor(rgba, { width: size, height: size, channels: 4 });
}

function maxSampleDiff(tensor: Float32Array, sample: number[]): number {
  let m = 0;
  sample.forEach((v, i) => (m = Math.max(m, Math.abs(tensor[i * reference.stride]! - v))));
  return m;
}

describe('Pillow BICUBIC resize in the page', () => {
  // Lossless inputs: the resize must agree with Pillow exactly (rounding included): downscale, upscale,
  // grey (L), and RGBA (resized premultiplied, as Pillow does).
  for (const file of ['skimage-chelsea.png', 'skimage-coffee.png', 'coco-val2017-000000039769.png', 'pillow-hopper.png', 'chelsea-small.png', 'skimage-camera.png', 'skimage-horse.png', 'CLIP.png']) {
    it(`${file} (${reference.images[file]!.mode} ${reference.images[file]!.width}x${reference.images[file]!.height}) matches Pillow`, async () => {
      const diff = maxSampleDiff(await pageTensor(file), reference.images[file]!.sample);
      expect(diff).toBeLessThan(1e-5);
    });
  }

  it('lossy inputs stay within a grey level or two (decoders differ, not the resize)', async () => {
    for (const file of ['skimage-rocket.jpg', 'pillow-hopper.jpg', 'pillow-hopper.webp']) {
      expect(maxSampleDiff(await pageTensor(file), reference.images[file]!.sample), file).toBeLessThan(3 * ONE_LEVEL);
    }
  });

  it('computes only the window: a crop of a resize equals the same window of a full resize', () => {
    const w = 37;
    const h = 23;
    const rgba = new Uint8ClampedArray(w * h * 4).map((_, i) => (i % 4 === 3 ? 255 : (i * 37) % 251));
    const full = resizeCropPillowBicubic(rgba, w, h, { width: 16, height: 11, left: 0, top: 0, cropWidth: 16, cropHeight: 11 });
    const part = resizeCropPillowBicubic(rgba, w, h, { width: 16, height: 11, left: 3, top: 2, cropWidth: 8, cropHeight: 7 });
    for (let y = 0; y < 7; y++) for (let x = 0; x < 8 * 4; x++) expect(part[y * 32 + x]).toBe(full[(y + 2) * 64 + 12 + x]);
  });
});
