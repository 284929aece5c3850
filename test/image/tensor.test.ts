import { describe, expect, it } from 'vitest';
import { pixelsToClipTensor } from '../../shared/image/tensor.ts';
import { CLIP_MEAN, CLIP_STD } from '../../shared/image/clip.ts';
import { countStatuses, isTransientOutcome, isUrlStatus, URL_STATUSES } from '../../shared/image/status.ts';

describe('pixelsToClipTensor', () => {
  it('normalises RGB(A) HWC into CHW planes with CLIP mean/std, ignoring alpha', () => {
    // 2x1 image: pixel 0 = (255, 0, 128, alpha 7), pixel 1 = (0, 255, 64, alpha 200)
    const rgba = new Uint8Array([255, 0, 128, 7, 0, 255, 64, 200]);
    const t = pixelsToClipTensor(rgba, { width: 2, height: 1, channels: 4 });
    const n = (v: number, c: number) => (v / 255 - CLIP_MEAN[c]!) / CLIP_STD[c]!;
    const want = [n(255, 0), n(0, 0), n(0, 1), n(255, 1), n(128, 2), n(64, 2)];
    expect(Array.from(t)).toEqual(want.map((v) => Math.fround(v)));
    const rgb = pixelsToClipTensor(new Uint8Array([255, 0, 128, 0, 255, 64]), { width: 2, height: 1, channels: 3 });
    expect(Array.from(rgb)).toEqual(Array.from(t));
  });
  it('replicates grey into three channels', () => {
    const t = pixelsToClipTensor(new Uint8Array([10, 99, 20, 99]), { width: 2, height: 1, channels: 2 });
    expect(Array.from(t)).toEqual(Array.from(pixelsToClipTensor(new Uint8Array([10, 10, 10, 20, 20, 20]), { width: 2, height: 1, channels: 3 })));
  });
  it('writes at an offset into a batch and refuses to overrun', () => {
    const out = new Float32Array(8).fill(-99);
    pixelsToClipTensor(new Uint8Array([1, 2, 3]), { width: 1, height: 1, channels: 3 }, out, 4);
    expect(Array.from(out.subarray(0, 4))).toEqual([-99, -99, -99, -99]);
    expect(out[7]).toBe(-99);
    expect(out[4]).not.toBe(-99);
    expect(() => pixelsToClipTensor(new Uint8Array([1, 2, 3]), { width: 1, height: 1, channels: 3 }, out, 6)).toThrow(RangeError);
    expect(() => pixelsToClipTensor(new Uint8Array([1, 2]), { width: 1, height: 1, channels: 3 })).toThrow(RangeError);
  });
});

describe('URL status vocabulary', () => {
  it('has the statuses the issue names, each transient or permanent', () => {
    for (const s of ['ok', 'timeout', 'http-error', 'blocked-address', 'opt-out', 'too-small', 'too-large', 'not-image', 'bomb', 'decode-error', 'cors', 'redirect-loop', 'too-many-redirects', 'dns-error', 'connect-error', 'host-skipped', 'bad-url']) {
      expect(isUrlStatus(s)).toBe(true);
    }
    expect(isUrlStatus('fine')).toBe(false);
    expect(new Set(URL_STATUSES).size).toBe(URL_STATUSES.length);
    expect(isTransientOutcome('timeout')).toBe(true);
    expect(isTransientOutcome('bomb')).toBe(false);
    expect(isTransientOutcome('http-error', 503)).toBe(true);
    expect(isTransientOutcome('http-error', 429)).toBe(true);
    expect(isTransientOutcome('http-error', 404)).toBe(false);
  });
  it('counts statuses', () => {
    expect(countStatuses(['ok', 'ok', 'bomb'])).toEqual({ ok: 2, bomb: 1 });
    expect(countStatuses([{ status: 'timeout' }, { status: 'ok' }])).toEqual({ timeout: 1, ok: 1 });
    expect(countStatuses([])).toEqual({});
  });
});

describe('sha256HexWeb', () => {
  it('equals node:crypto on an image file', async () => {
    const { readFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { sha256HexWeb } = await import('../../shared/image/hash.ts');
    const { sha256Hex } = await import('../../server/image/prepare.ts');
    const bytes = new Uint8Array(readFileSync(join(import.meta.dirname, '..', 'fixtures', 'images', 'skimage-rocket.jpg')));
    expect(await sha256HexWeb(bytes)).toBe('c2dd0de7c538df8d111e479619b129464d0269d0ae5fd18ca91d33a7fdfea95c');
    expect(sha256Hex(bytes)).toBe(await sha256HexWeb(bytes));
  });
});
