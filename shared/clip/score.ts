// Pure vector maths for CLIP scoring: L2 normalisation, cosine similarity, float16 packing, keep/drop.
// Runs unchanged in Node and in a Web Worker.

/** L2-normalises each of the `rows` rows of a row-major [rows, dim] matrix into a new array. A zero row stays zero. */
export function l2NormalizeRows(matrix: Float32Array, dim: number): Float32Array {
  const out = new Float32Array(matrix.length);
  for (let start = 0; start < matrix.length; start += dim) {
    let sum = 0;
    for (let i = start; i < start + dim; i++) sum += matrix[i]! * matrix[i]!;
    const inv = sum > 0 ? 1 / Math.sqrt(sum) : 0;
    for (let i = start; i < start + dim; i++) out[i] = matrix[i]! * inv;
  }
  return out;
}

/** Cosine similarity of two vectors of equal length (need not be normalised). 0 when either is zero. */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`cosine: lengths differ (${a.length} vs ${b.length})`);
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return na > 0 && nb > 0 ? dot / Math.sqrt(na * nb) : 0;
}

/**
 * Row i of `images` against row i of `texts` (an image against its own alt text), both [n, dim] and
 * already L2-normalised, so the dot product is the cosine similarity.
 */
export function pairSimilarities(images: Float32Array, texts: Float32Array, dim: number): Float32Array {
  if (images.length !== texts.length) throw new Error(`pairSimilarities: ${images.length / dim} images vs ${texts.length / dim} texts`);
  const n = images.length / dim;
  const out = new Float32Array(n);
  for (let r = 0; r < n; r++) {
    let dot = 0;
    for (let i = r * dim; i < (r + 1) * dim; i++) dot += images[i]! * texts[i]!;
    out[r] = dot;
  }
  return out;
}

/** Every image against every text: [nImages, nTexts], row-major. Inputs L2-normalised. */
export function similarityMatrix(images: Float32Array, texts: Float32Array, dim: number): Float32Array {
  const ni = images.length / dim;
  const nt = texts.length / dim;
  const out = new Float32Array(ni * nt);
  for (let r = 0; r < ni; r++) {
    for (let c = 0; c < nt; c++) {
      let dot = 0;
      for (let k = 0; k < dim; k++) dot += images[r * dim + k]! * texts[c * dim + k]!;
      out[r * nt + c] = dot;
    }
  }
  return out;
}

/** LAION's rule: a pair is kept when its similarity is at or above the model's threshold. */
export function keepPair(similarity: number, threshold: number): boolean {
  return similarity >= threshold;
}

// Scratch views for reading a float's bits (no state survives a call; kept at module level so packing a
// 512-float embedding does not allocate 512 buffers).
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE 754 binary16 bits of `value`, rounded to nearest even; overflow gives infinity, NaN stays NaN. */
export function float32ToFloat16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    // Subnormal half: shift the mantissa (with its implicit 1) and round to nearest even.
    const m = mant | 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    let r = m >>> shift;
    const rest = m & ((1 << shift) - 1);
    if (rest > half || (rest === half && (r & 1))) r++;
    return sign | r;
  }
  let r = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (r & 1))) r++; // may carry into the exponent: still correct
  return sign | r;
}

export function float16BitsToFloat32(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >>> 10) & 0x1f;
  const mant = bits & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** Packs embeddings as float16 for the dataset (half the bytes; error below 1e-3 on unit vectors). */
export function toFloat16(values: Float32Array): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = float32ToFloat16Bits(values[i]!);
  return out;
}

export function fromFloat16(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = float16BitsToFloat32(bits[i]!);
  return out;
}
