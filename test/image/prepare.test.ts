import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { clipResizeDims, prepareImage, roundHalfEven } from '../../server/image/prepare.ts';
import { CLIP_TENSOR_LENGTH, DEFAULT_IMAGE_LIMITS } from '../../shared/image/clip.ts';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures');
const ref = JSON.parse(readFileSync(join(FIXTURES, 'preprocess', 'reference.json'), 'utf8')) as {
  stride: number;
  block: number;
  images: Record<string, { width: number; height: number; channelMeans: number[]; pooled: number[]; sample: number[] }>;
};
const read = (f: string) => new Uint8Array(readFileSync(join(FIXTURES, 'images', f)));
const PLANE = 224 * 224;

/**
 * Tolerances against Pillow, in normalised units (one grey level = 1 / 255 / std, about 0.015).
 * Shrinking: libvips' cubic reduce and Pillow's BICUBIC are the same Keys kernel (a = -0.5) with the same
 * geometry, but round in different places (Pillow: 8-bit fixed point between the two passes), and JPEG
 * IDCTs may differ by one level, so values agree to about 2 levels, block means to well under one.
 * CLIP.png is a line diagram shrunk 3.4x: at its hard edges single values differ by up to ~27 levels.
 * Enlarging (hopper 128 px, chelsea-small 180x120 and its rotated PNG/WebP copies): inside the image the affine bicubic matches, but the
 * outermost 1-2 pixels differ (Pillow renormalises the kernel at the border, libvips extends the edge), so
 * single values and the border blocks differ more while the average stays under one level.
 */
const DEFAULT_TOL = { sampleMean: 0.005, sampleMax: 0.05, pooledMax: 0.004, channelMean: 0.002 };
const TOLERANCES: Record<string, typeof DEFAULT_TOL> = {
  'CLIP.png': { sampleMean: 0.004, sampleMax: 0.5, pooledMax: 0.03, channelMean: 0.002 },
  'pillow-hopper.jpg': { sampleMean: 0.012, sampleMax: 1.0, pooledMax: 0.04, channelMean: 0.004 },
  'pillow-hopper.png': { sampleMean: 0.012, sampleMax: 1.0, pooledMax: 0.04, channelMean: 0.004 },
  'pillow-hopper.webp': { sampleMean: 0.012, sampleMax: 1.0, pooledMax: 0.04, channelMean: 0.004 },
  'chelsea-small.png': { sampleMean: 0.012, sampleMax: 1.0, pooledMax: 0.04, channelMean: 0.004 },
  'chelsea-exif8.png': { sampleMean: 0.012, sampleMax: 1.0, pooledMax: 0.04, channelMean: 0.004 },
  'chelsea-exif6.webp': { sampleMean: 0.012, sampleMax: 1.0, pooledMax: 0.04, channelMean: 0.004 },
};

function compare(t: Float32Array, offset: number, r: (typeof ref.images)[string]) {
  let sampleSum = 0;
  let sampleMax = 0;
  r.sample.forEach((v, i) => {
    const d = Math.abs(t[offset + i * ref.stride]! - v);
    sampleSum += d;
    sampleMax = Math.max(sampleMax, d);
  });
  let pooledMax = 0;
  const b = ref.block;
  const n = 224 / b;
  for (let c = 0; c < 3; c++)
    for (let by = 0; by < n; by++)
      for (let bx = 0; bx < n; bx++) {
        let s = 0;
        for (let y = 0; y < b; y++) for (let x = 0; x < b; x++) s += t[offset + c * PLANE + (by * b + y) * 224 + bx * b + x]!;
        pooledMax = Math.max(pooledMax, Math.abs(s / (b * b) - r.pooled[c * n * n + by * n + bx]!));
      }
  let channelMean = 0;
  for (let c = 0; c < 3; c++) {
    let s = 0;
    for (let i = 0; i < PLANE; i++) s += t[offset + c * PLANE + i]!;
    channelMean = Math.max(channelMean, Math.abs(s / PLANE - r.channelMeans[c]!));
  }
  return { sampleMean: sampleSum / r.sample.length, sampleMax, pooledMax, channelMean };
}

describe('prepareImage against Pillow references (test/fixtures/preprocess/make_reference.py)', () => {
  // hopper.webp is 3.2 KB: below the 5 KB floor, so the comparison lowers the floor.
  const limits = { ...DEFAULT_IMAGE_LIMITS, minBytes: 0 };
  for (const [file, r] of Object.entries(ref.images)) {
    it(`${file}: size, orientation and tensor within tolerance`, async () => {
      const out = await prepareImage(read(file), { limits });
      expect(out.ok).toBe(true);
      if (!out.ok) return;
      expect([out.width, out.height]).toEqual([r.width, r.height]);
      expect(out.tensor.length).toBe(CLIP_TENSOR_LENGTH);
      const got = compare(out.tensor, 0, r);
      const tol = TOLERANCES[file] ?? DEFAULT_TOL;
      expect(got.sampleMean).toBeLessThanOrEqual(tol.sampleMean);
      expect(got.sampleMax).toBeLessThanOrEqual(tol.sampleMax);
      expect(got.pooledMax).toBeLessThanOrEqual(tol.pooledMax);
      expect(got.channelMean).toBeLessThanOrEqual(tol.channelMean);
    });
  }

  it('the comparison can fail: a mirrored image is far off its reference', async () => {
    const out = await prepareImage(read('skimage-rocket.jpg'));
    if (!out.ok) throw new Error(out.detail);
    const mirrored = new Float32Array(out.tensor.length);
    for (let c = 0; c < 3; c++) for (let y = 0; y < 224; y++) for (let x = 0; x < 224; x++) mirrored[c * PLANE + y * 224 + x] = out.tensor[c * PLANE + y * 224 + 223 - x]!;
    expect(compare(mirrored, 0, ref.images['skimage-rocket.jpg']!).pooledMax).toBeGreaterThan(0.1);
  });

  it('EXIF orientation is applied: the orientation-6 file matches the upright reference, not the stored pixels', async () => {
    const rotated = await prepareImage(read('rocket-exif6.jpg'));
    if (!rotated.ok) throw new Error(rotated.detail);
    expect([rotated.width, rotated.height]).toEqual([640, 427]);
    // Same scene as the upright original (re-encoded at quality 92, so not bit-identical).
    expect(compare(rotated.tensor, 0, ref.images['skimage-rocket.jpg']!).pooledMax).toBeLessThan(0.03);
  });
});

describe('prepareImage into a batch tensor', () => {
  it('writes only its own slot at the offset', async () => {
    const batch = new Float32Array(3 * CLIP_TENSOR_LENGTH).fill(Number.NaN);
    const out = await prepareImage(read('skimage-coffee.png'), { out: batch, offset: CLIP_TENSOR_LENGTH });
    if (!out.ok) throw new Error(out.detail);
    expect(out.tensor).toBe(batch);
    expect(out.offset).toBe(CLIP_TENSOR_LENGTH);
    expect(batch.subarray(0, CLIP_TENSOR_LENGTH).every(Number.isNaN)).toBe(true);
    expect(batch.subarray(2 * CLIP_TENSOR_LENGTH).every(Number.isNaN)).toBe(true);
    const slot = batch.subarray(CLIP_TENSOR_LENGTH, 2 * CLIP_TENSOR_LENGTH);
    expect(slot.some(Number.isNaN)).toBe(false);
    expect(compare(batch, CLIP_TENSOR_LENGTH, ref.images['skimage-coffee.png']!).pooledMax).toBeLessThan(0.004);
  });
});

describe('prepareImage checks before decoding', () => {
  it('rejects small, non-image, bomb and corrupt inputs with their status', async () => {
    expect((await prepareImage(read('pillow-hopper.webp'))).ok).toBe(false);
    expect(await prepareImage(read('pillow-hopper.webp'))).toMatchObject({ status: 'too-small' });
    expect(await prepareImage(read('captions.json'))).toMatchObject({ status: 'not-image' });
    const rocket = read('skimage-rocket.jpg');
    // Valid header, entropy-coded data cut in half.
    expect(await prepareImage(rocket.subarray(0, rocket.length >> 1))).toMatchObject({ status: 'decode-error', format: 'jpeg', width: 640 });
    // Valid PNG header, scrambled compressed data (libpng fails on the chunk CRC / zlib stream).
    const scrambled = read('pillow-hopper.png').slice();
    for (let i = 200; i < scrambled.length - 20; i++) scrambled[i] = (i * 131) & 0xff;
    expect(await prepareImage(scrambled)).toMatchObject({ ok: false, status: 'decode-error', format: 'png', width: 128 });
    // A header that contradicts itself: JPEG frame header with zero width.
    const zeroWidth = rocket.slice();
    const sof = zeroWidth.findIndex((b, i) => b === 0xff && zeroWidth[i + 1] === 0xc0);
    zeroWidth[sof + 7] = 0;
    zeroWidth[sof + 8] = 0;
    expect(await prepareImage(zeroWidth)).toMatchObject({ ok: false, status: 'decode-error' });
  });

  it('records the sha256 of the bytes', async () => {
    const out = await prepareImage(read('skimage-rocket.jpg'));
    expect(out.ok && out.sha256).toBe('c2dd0de7c538df8d111e479619b129464d0269d0ae5fd18ca91d33a7fdfea95c');
  });
});

describe('geometry helpers', () => {
  it('follows torchvision: truncate the long side, round crop offsets half to even', () => {
    expect(clipResizeDims(640, 427, 224)).toEqual([335, 224]);
    expect(clipResizeDims(300, 451, 224)).toEqual([224, 336]);
    expect(clipResizeDims(128, 128, 224)).toEqual([224, 224]);
    expect([roundHalfEven(24.5), roundHalfEven(55.5), roundHalfEven(3.2), roundHalfEven(3.7), roundHalfEven(0)]).toEqual([24, 56, 3, 4, 0]);
  });
});
