// Pillow's BICUBIC resize (Resample.c in Pillow 9.x: ImagingResample -> precompute_coeffs,
// normalize_coeffs_8bpc, horizontal pass then vertical pass, 22-bit fixed-point weights, 8-bit clip between
// passes), written again in TypeScript so that the page prepares CLIP inputs the way openai/CLIP's
// `Resize(224, BICUBIC)` does on a PIL image, and so agrees with the agent (whose sharp pipeline is matched to
// Pillow) to about one grey level instead of the few that the browser's own resampler differs by.
// Only the crop window is computed: each output pixel depends only on its own taps, so resizing everything
// and cropping after gives the same values.

const PRECISION_BITS = 32 - 8 - 2;
const ONE = 1 << PRECISION_BITS;
const HALF = 1 << (PRECISION_BITS - 1);
const MAX = 1 << (PRECISION_BITS + 8);

/** Pillow's bicubic_filter, a = -0.5 (Keys / Catmull-Rom), support 2. */
function bicubic(x: number): number {
  const a = -0.5;
  if (x < 0) x = -x;
  if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
  return 0;
}

interface Coefficients {
  /** Per output index: first input index and number of taps. */
  first: Int32Array;
  count: Int32Array;
  /** Fixed-point weights, `ksize` per output index. */
  weights: Int32Array;
  ksize: number;
}

/** precompute_coeffs + normalize_coeffs_8bpc for output indices [from, from + n) of an inSize -> outSize axis. */
function coefficients(inSize: number, outSize: number, from: number, n: number): Coefficients {
  const scale = inSize / outSize;
  const filterscale = Math.max(scale, 1);
  const support = 2 * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const first = new Int32Array(n);
  const count = new Int32Array(n);
  const weights = new Int32Array(n * ksize);
  const k = new Float64Array(ksize);
  for (let i = 0; i < n; i++) {
    const xx = from + i;
    const center = (xx + 0.5) * scale;
    const ss = 1 / filterscale;
    // C's (int) truncates toward zero, then clamps.
    const xmin = Math.max(0, Math.trunc(center - support + 0.5));
    const xmax = Math.min(inSize, Math.trunc(center + support + 0.5)) - xmin;
    let ww = 0;
    for (let x = 0; x < xmax; x++) {
      const w = bicubic((x + xmin - center + 0.5) * ss);
      k[x] = w;
      ww += w;
    }
    for (let x = 0; x < xmax; x++) {
      const w = ww !== 0 ? k[x]! / ww : k[x]!;
      weights[i * ksize + x] = w < 0 ? Math.trunc(-0.5 + w * ONE) : Math.trunc(0.5 + w * ONE);
    }
    first[i] = xmin;
    count[i] = xmax;
  }
  return { first, count, weights, ksize };
}

function clip8(v: number): number {
  if (v >= MAX) return 255;
  if (v <= 0) return 0;
  return v >> PRECISION_BITS;
}

/** Pillow's RGBA -> RGBa (premultiply, MULDIV255). */
function premultiply(rgba: Uint8ClampedArray): Uint8ClampedArray {
  const out = new Uint8ClampedArray(rgba.length);
  for (let i = 0; i < rgba.length; i += 4) {
    const a = rgba[i + 3]!;
    for (let c = 0; c < 3; c++) {
      const t = rgba[i + c]! * a + 128;
      out[i + c] = ((t >> 8) + t) >> 8;
    }
    out[i + 3] = a;
  }
  return out;
}

/** Pillow's RGBa -> RGBA (unpremultiply). */
function unpremultiply(rgba: Uint8ClampedArray): void {
  for (let i = 0; i < rgba.length; i += 4) {
    const a = rgba[i + 3]!;
    if (a === 255 || a === 0) continue;
    for (let c = 0; c < 3; c++) rgba[i + c] = Math.min(255, Math.trunc((255 * rgba[i + c]!) / a));
  }
}

export interface CropWindow {
  /** Size of the whole resized image. */
  width: number;
  height: number;
  /** The window kept (CenterCrop): left, top and its size. */
  left: number;
  top: number;
  cropWidth: number;
  cropHeight: number;
}

/**
 * Resizes RGBA pixels (w x h, not premultiplied) to `win.width` x `win.height` with Pillow's BICUBIC and
 * returns only the crop window, as RGBA. Images with transparency are resized premultiplied, as Pillow does
 * for RGBA. The alpha of the result is kept; the tensor step drops it (openai/CLIP's convert("RGB")).
 */
export function resizeCropPillowBicubic(rgba: Uint8ClampedArray, w: number, h: number, win: CropWindow): Uint8ClampedArray {
  if (rgba.length < w * h * 4) throw new RangeError(`rgba: ${rgba.length} < ${w}x${h}x4`);
  let hasAlpha = false;
  for (let i = 3; i < w * h * 4; i += 4) {
    if (rgba[i] !== 255) {
      hasAlpha = true;
      break;
    }
  }
  const src = hasAlpha ? premultiply(rgba) : rgba;
  const { cropWidth: cw, cropHeight: ch } = win;
  // Vertical taps first (to know which source rows the horizontal pass must produce).
  const needV = win.height !== h;
  const needH = win.width !== w;
  const vc = needV ? coefficients(h, win.height, win.top, ch) : null;
  let rowFirst = win.top;
  let rowLast = win.top + ch; // exclusive
  if (vc) {
    rowFirst = vc.first[0]!;
    rowLast = vc.first[ch - 1]! + vc.count[ch - 1]!;
    for (let i = 0; i < ch; i++) {
      rowFirst = Math.min(rowFirst, vc.first[i]!);
      rowLast = Math.max(rowLast, vc.first[i]! + vc.count[i]!);
    }
  }
  const rows = rowLast - rowFirst;
  // Horizontal pass: rows [rowFirst, rowLast) of the source, output columns [left, left + cw).
  let mid: Uint8ClampedArray;
  if (needH) {
    const hc = coefficients(w, win.width, win.left, cw);
    mid = new Uint8ClampedArray(rows * cw * 4);
    for (let y = 0; y < rows; y++) {
      const rowBase = (rowFirst + y) * w * 4;
      for (let x = 0; x < cw; x++) {
        const f = hc.first[x]!;
        const n = hc.count[x]!;
        const kb = x * hc.ksize;
        let s0 = HALF;
        let s1 = HALF;
        let s2 = HALF;
        let s3 = HALF;
        for (let t = 0; t < n; t++) {
          const k = hc.weights[kb + t]!;
          const p = rowBase + (f + t) * 4;
          s0 += src[p]! * k;
          s1 += src[p + 1]! * k;
          s2 += src[p + 2]! * k;
          s3 += src[p + 3]! * k;
        }
        const o = (y * cw + x) * 4;
        mid[o] = clip8(s0);
        mid[o + 1] = clip8(s1);
        mid[o + 2] = clip8(s2);
        mid[o + 3] = clip8(s3);
      }
    }
  } else {
    mid = new Uint8ClampedArray(rows * cw * 4);
    for (let y = 0; y < rows; y++) {
      const s = ((rowFirst + y) * w + win.left) * 4;
      mid.set(src.subarray(s, s + cw * 4), y * cw * 4);
    }
  }
  let out: Uint8ClampedArray;
  if (vc) {
    out = new Uint8ClampedArray(ch * cw * 4);
    for (let y = 0; y < ch; y++) {
      const f = vc.first[y]! - rowFirst;
      const n = vc.count[y]!;
      const kb = y * vc.ksize;
      for (let x = 0; x < cw; x++) {
        let s0 = HALF;
        let s1 = HALF;
        let s2 = HALF;
        let s3 = HALF;
        for (let t = 0; t < n; t++) {
          const k = vc.weights[kb + t]!;
          const p = ((f + t) * cw + x) * 4;
          s0 += mid[p]! * k;
          s1 += mid[p + 1]! * k;
          s2 += mid[p + 2]! * k;
          s3 += mid[p + 3]! * k;
        }
        const o = (y * cw + x) * 4;
        out[o] = clip8(s0);
        out[o + 1] = clip8(s1);
        out[o + 2] = clip8(s2);
        out[o + 3] = clip8(s3);
      }
    }
  } else {
    out = mid;
  }
  if (hasAlpha) unpremultiply(out);
  return out;
}
