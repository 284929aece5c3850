import { describe, expect, it } from 'vitest';
import { cosine, float16BitsToFloat32, float32ToFloat16Bits, fromFloat16, keepPair, l2NormalizeRows, pairSimilarities, similarityMatrix, toFloat16 } from '../../shared/clip/score.ts';

describe('l2NormalizeRows / cosine / similarities', () => {
  it('normalises each row to unit length and leaves a zero row at zero', () => {
    const m = new Float32Array([3, 4, 0, 0, 0, 0, 1, 1, 1]);
    const n = l2NormalizeRows(m, 3);
    expect(Array.from(n.slice(0, 3))).toEqual([0.6000000238418579, 0.800000011920929, 0]);
    expect(Array.from(n.slice(3, 6))).toEqual([0, 0, 0]);
    expect(n[6]).toBeCloseTo(1 / Math.sqrt(3), 7);
    expect(m[0]).toBe(3); // input untouched
  });

  it('cosine matches the textbook formula and ignores scale', () => {
    expect(cosine([1, 0], [0, 1])).toBe(0);
    expect(cosine([1, 2, 3], [2, 4, 6])).toBeCloseTo(1, 12);
    expect(cosine([1, 2, 3], [-1, -2, -3])).toBeCloseTo(-1, 12);
    expect(cosine([1, 2], [3, 1])).toBeCloseTo(5 / (Math.sqrt(5) * Math.sqrt(10)), 12);
    expect(cosine([0, 0], [1, 1])).toBe(0);
    expect(() => cosine([1], [1, 2])).toThrow(/lengths differ/);
  });

  it('pair similarities are row-by-row dot products; the matrix holds every pair', () => {
    const a = l2NormalizeRows(new Float32Array([1, 0, 1, 1]), 2);
    const b = l2NormalizeRows(new Float32Array([1, 1, 0, 1]), 2);
    const pairs = pairSimilarities(a, b, 2);
    expect(pairs[0]).toBeCloseTo(Math.SQRT1_2, 6);
    expect(pairs[1]).toBeCloseTo(Math.SQRT1_2, 6);
    const mat = similarityMatrix(a, b, 2);
    expect(mat.length).toBe(4);
    expect(mat[1]).toBeCloseTo(0, 6); // [1,0] . [0,1]
    expect(mat[2]).toBeCloseTo(1, 6); // [1,1]/√2 . [1,1]/√2
    expect(() => pairSimilarities(a, b.subarray(0, 2), 2)).toThrow();
  });

  it('keeps at or above the threshold, drops below', () => {
    expect(keepPair(0.28, 0.28)).toBe(true);
    expect(keepPair(0.2799, 0.28)).toBe(false);
    expect(keepPair(0.9, 0.28)).toBe(true);
  });
});

describe('float16', () => {
  it('encodes known values', () => {
    const cases: [number, number][] = [
      [0, 0x0000],
      [-0, 0x8000],
      [1, 0x3c00],
      [-2, 0xc000],
      [0.1, 0x2e66],
      [65504, 0x7bff], // largest half
      [65520, 0x7c00], // rounds up to infinity
      [Infinity, 0x7c00],
      [-Infinity, 0xfc00],
      [2 ** -24, 0x0001], // smallest subnormal
      [2 ** -26, 0x0000], // below half of it: zero
      [2 ** -14, 0x0400], // smallest normal
      [1 + 2 ** -11, 0x3c00], // halfway: ties to even (down)
      [1 + 3 * 2 ** -11, 0x3c02], // halfway: ties to even (up)
    ];
    for (const [value, bits] of cases) expect([value, float32ToFloat16Bits(value)]).toEqual([value, bits]);
    expect(float32ToFloat16Bits(NaN) & 0x7c00).toBe(0x7c00);
    expect(float32ToFloat16Bits(NaN) & 0x3ff).not.toBe(0);
  });

  it('every finite half survives decode then encode unchanged', () => {
    for (let bits = 0; bits < 0x10000; bits++) {
      const exp = (bits >>> 10) & 0x1f;
      if (exp === 0x1f && (bits & 0x3ff) !== 0) continue; // NaN payloads
      const back = float32ToFloat16Bits(float16BitsToFloat32(bits));
      if (back !== bits) throw new Error(`0x${bits.toString(16)} came back as 0x${back.toString(16)}`);
    }
  });

  it('packs unit embeddings with error below 2^-11 relative (< 5e-4 absolute)', () => {
    const v = l2NormalizeRows(Float32Array.from({ length: 512 }, (_, i) => Math.sin(i * 1.7) + 0.1), 512);
    const packed = toFloat16(v);
    expect(packed.byteLength).toBe(1024);
    const back = fromFloat16(packed);
    let worst = 0;
    for (let i = 0; i < v.length; i++) worst = Math.max(worst, Math.abs(back[i]! - v[i]!));
    expect(worst).toBeLessThan(5e-4);
    expect(worst).toBeGreaterThan(0);
  });
});
