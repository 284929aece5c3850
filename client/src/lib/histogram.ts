// The similarity histogram of the volunteer's own scored images: fixed bins so that it can be updated one
// job at a time, and an SVG geometry step kept apart from the component so that both can be tested.

export interface HistogramSpec {
  /** Lower edge of the first bin; values below it are counted in the first bin. */
  min: number;
  /** Upper edge of the last bin; values at or above it are counted in the last bin. */
  max: number;
  bins: number;
}

/** CLIP ViT-B/32 cosine similarities of real pairs fall roughly in [0, 0.45]; 0.28 is LAION's cut. */
export const DEFAULT_HISTOGRAM: HistogramSpec = { min: -0.1, max: 0.5, bins: 24 };

export function emptyHistogram(spec: HistogramSpec = DEFAULT_HISTOGRAM): number[] {
  return new Array<number>(spec.bins).fill(0);
}

/** Index of the bin a value falls in: [min + i*w, min + (i+1)*w), clamped to the ends. NaN gives -1. */
export function binIndex(value: number, spec: HistogramSpec = DEFAULT_HISTOGRAM): number {
  if (Number.isNaN(value)) return -1;
  const width = (spec.max - spec.min) / spec.bins;
  // The small epsilon keeps values that sit exactly on an edge (0.3 from 0.1 + 0.2 arithmetic) in the upper bin.
  const i = Math.floor((value - spec.min) / width + 1e-9);
  return Math.min(spec.bins - 1, Math.max(0, i));
}

/** Returns new counts with `values` added (the input is not changed). */
export function addToHistogram(counts: readonly number[], values: Iterable<number>, spec: HistogramSpec = DEFAULT_HISTOGRAM): number[] {
  const next = counts.length === spec.bins ? [...counts] : emptyHistogram(spec);
  for (const v of values) {
    const i = binIndex(v, spec);
    if (i >= 0) next[i]!++;
  }
  return next;
}

export interface Bar {
  x: number;
  y: number;
  width: number;
  height: number;
  count: number;
  /** Lower and upper edge, for the label. */
  from: number;
  to: number;
  /** At or above the keep threshold. */
  kept: boolean;
}

/** Bars of an SVG `width` x `height` chart; the tallest bar fills the height. */
export function histogramBars(counts: readonly number[], spec: HistogramSpec, width: number, height: number, threshold: number | null): Bar[] {
  const peak = Math.max(1, ...counts);
  const w = width / spec.bins;
  const binWidth = (spec.max - spec.min) / spec.bins;
  return counts.map((count, i) => {
    const h = (count / peak) * height;
    const from = spec.min + i * binWidth;
    return { x: i * w, y: height - h, width: Math.max(0, w - 1), height: h, count, from, to: from + binWidth, kept: threshold !== null && from + 1e-9 >= threshold };
  });
}

/** x of a similarity value on the chart (for the threshold line). */
export function valueToX(value: number, spec: HistogramSpec, width: number): number {
  return ((Math.min(spec.max, Math.max(spec.min, value)) - spec.min) / (spec.max - spec.min)) * width;
}
