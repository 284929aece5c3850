import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readImageHeader, sniffFormat } from '../../shared/image/header.ts';
import { checkImageBytes, checkImagePrefix } from '../../shared/image/checks.ts';
import { DEFAULT_IMAGE_LIMITS } from '../../shared/image/clip.ts';
import { HOSTILE } from '../helpers/fixtureWeb.ts';

const DIR = join(import.meta.dirname, '..', 'fixtures', 'images');
const read = (f: string) => new Uint8Array(readFileSync(join(DIR, f)));
const captions = JSON.parse(readFileSync(join(DIR, 'captions.json'), 'utf8')).images as Record<string, { format: string; width: number; height: number }>;

describe('readImageHeader on the real fixture images', () => {
  for (const [file, meta] of Object.entries(captions)) {
    it(`${file}: ${meta.format} ${meta.width}x${meta.height} from the header alone`, () => {
      const h = readImageHeader(read(file));
      expect(h).toMatchObject({ ok: true, format: meta.format, width: meta.width, height: meta.height, orientation: 1 });
    });
  }

  it('JPEG with EXIF orientation 6: stored 427x640, displayed 640x427', () => {
    expect(readImageHeader(read('rocket-exif6.jpg'))).toMatchObject({ ok: true, storedWidth: 427, storedHeight: 640, orientation: 6, width: 640, height: 427 });
  });

  it('PNG eXIf and WebP EXIF orientations are read too (stored 120x180, displayed 180x120)', () => {
    expect(readImageHeader(read('chelsea-exif8.png'))).toMatchObject({ ok: true, format: 'png', storedWidth: 120, storedHeight: 180, orientation: 8, width: 180, height: 120 });
    expect(readImageHeader(read('chelsea-exif6.webp'))).toMatchObject({ ok: true, format: 'webp', storedWidth: 120, storedHeight: 180, orientation: 6, width: 180, height: 120 });
    // A prefix without the EXIF chunk still gives the (orientation-independent) pixel count.
    expect(readImageHeader(read('chelsea-exif6.webp').subarray(0, 64))).toMatchObject({ ok: true, storedWidth: 120, orientation: 1 });
  });

  it('asks for more bytes on every proper prefix shorter than the header, then decides', () => {
    for (const file of ['skimage-rocket.jpg', 'skimage-rocket-progressive.jpg', 'pillow-hopper.webp', 'skimage-horse.png', 'rocket-exif6.jpg']) {
      const bytes = read(file);
      let n = 0;
      while (readImageHeader(bytes.subarray(0, n)).ok === false) {
        expect(readImageHeader(bytes.subarray(0, n))).toMatchObject({ reason: 'need_more_bytes' });
        n++;
      }
      expect(n).toBeGreaterThan(10);
      expect(n).toBeLessThan(bytes.length);
      expect(readImageHeader(bytes.subarray(0, n))).toEqual(readImageHeader(bytes));
    }
  });

  it('reads the bomb header without decoding anything', () => {
    expect(readImageHeader(HOSTILE.bombPng)).toMatchObject({ ok: true, format: 'png', width: 100_000, height: 100_000 });
  });
});

describe('sniffFormat', () => {
  it('decides from magic bytes, not names or types', () => {
    expect(sniffFormat(read('pillow-hopper.webp'))).toEqual({ kind: 'image', format: 'webp' });
    expect(sniffFormat(HOSTILE.pixelGif)).toEqual({ kind: 'other', name: 'gif' });
    expect(sniffFormat(HOSTILE.html)).toEqual({ kind: 'other', name: 'html/xml/svg' });
    expect(sniffFormat(new TextEncoder().encode('RIFF\0\0\0\0WAVEfmt '))).toEqual({ kind: 'unknown' });
    expect(sniffFormat(new Uint8Array([0xff, 0xd8]))).toEqual({ kind: 'need-more' });
    expect(sniffFormat(new Uint8Array([0x00, 0x01]))).toEqual({ kind: 'unknown' });
  });
});

describe('image checks', () => {
  const L = DEFAULT_IMAGE_LIMITS;
  it('orders the checks: not-image, decode-error, bomb, too-small', () => {
    expect(checkImageBytes(HOSTILE.html, L)).toMatchObject({ ok: false, status: 'not-image' });
    expect(checkImageBytes(HOSTILE.pixelGif, L)).toMatchObject({ ok: false, status: 'not-image' });
    expect(checkImageBytes(HOSTILE.bombPng, L)).toMatchObject({ ok: false, status: 'bomb' });
    expect(checkImageBytes(HOSTILE.bombPng.subarray(0, 40), L)).toMatchObject({ ok: false, status: 'bomb' });
    expect(checkImageBytes(HOSTILE.pixelPng, L)).toMatchObject({ ok: false, status: 'too-small' });
    expect(checkImageBytes(HOSTILE.jpegStart, L)).toMatchObject({ ok: false, status: 'decode-error' });
    expect(checkImageBytes(read('skimage-rocket.jpg'), L)).toMatchObject({ ok: true, header: { width: 640 } });
  });
  it('pixel limit is inclusive: exactly 89,478,484 passes, one more is a bomb', () => {
    const png = (w: number, h: number) => {
      const b = new Uint8Array(HOSTILE.bombPng);
      new DataView(b.buffer).setUint32(16, w);
      new DataView(b.buffer).setUint32(20, h);
      return b;
    };
    expect(checkImageBytes(png(89_478_484, 1), L).ok).toBe(true);
    expect(checkImageBytes(png(89_478_485, 1), L)).toMatchObject({ status: 'bomb' });
  });
  it('a prefix decides early or stays undecided', () => {
    expect(checkImagePrefix(HOSTILE.html.subarray(0, 20), L)).toMatchObject({ status: 'not-image' });
    expect(checkImagePrefix(HOSTILE.bombPng.subarray(0, 30), L)).toMatchObject({ status: 'bomb' });
    expect(checkImagePrefix(read('skimage-rocket.jpg').subarray(0, 8), L)).toBeNull();
    expect(checkImagePrefix(HOSTILE.pixelPng, L)).toMatchObject({ ok: true });
  });
});
