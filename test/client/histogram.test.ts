import { describe, expect, it } from 'vitest';
import { addToHistogram, binIndex, emptyHistogram, histogramBars, valueToX, type HistogramSpec } from '../../client/src/lib/histogram.ts';

const spec: HistogramSpec = { min: 0, max: 0.5, bins: 5 }; // bins of 0.1

describe('similarity histogram binning', () => {
  it('puts values in half-open bins, edges in the upper bin, outliers at the ends', () => {
    expect(binIndex(0, spec)).toBe(0);
    expect(binIndex(0.0999, spec)).toBe(0);
    expect(binIndex(0.1, spec)).toBe(1);
    expect(binIndex(0.1 + 0.2, spec)).toBe(3); // 0.30000000000000004
    expect(binIndex(0.3, spec)).toBe(3);
    expect(binIndex(0.49, spec)).toBe(4);
    expect(binIndex(0.5, spec)).toBe(4);
    expect(binIndex(0.93, spec)).toBe(4);
    expect(binIndex(-0.4, spec)).toBe(0);
    expect(binIndex(Number.NaN, spec)).toBe(-1);
  });

  it('adds values without changing the input and ignores NaN', () => {
    const start = emptyHistogram(spec);
    const next = addToHistogram(start, [0.05, 0.15, 0.17, 0.31, Number.NaN, 0.7], spec);
    expect(start).toEqual([0, 0, 0, 0, 0]);
    expect(next).toEqual([1, 2, 0, 1, 1]);
    expect(addToHistogram(next, [0.11], spec)).toEqual([1, 3, 0, 1, 1]);
    // counts of another length (an older spec) start over
    expect(addToHistogram([1, 2], [0.11], spec)).toEqual([0, 1, 0, 0, 0]);
  });

  it('draws bars scaled to the tallest and marks those at or above the threshold', () => {
    const bars = histogramBars([1, 4, 0, 2, 0], spec, 100, 40, 0.3);
    expect(bars.map((b) => b.height)).toEqual([10, 40, 0, 20, 0]);
    expect(bars.map((b) => b.y)).toEqual([30, 0, 40, 20, 40]);
    expect(bars.map((b) => b.x)).toEqual([0, 20, 40, 60, 80]);
    expect(bars.map((b) => b.kept)).toEqual([false, false, false, true, true]);
    expect(histogramBars([0, 0, 0, 0, 0], spec, 100, 40, null).every((b) => b.height === 0 && !b.kept)).toBe(true);
    expect(valueToX(0.28, spec, 100)).toBeCloseTo(56);
    expect(valueToX(9, spec, 100)).toBe(100);
  });
});
