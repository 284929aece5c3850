import { describe, expect, it } from 'vitest';
import { parseByteRate } from '../../server/fetch/rate.ts';

describe('parseByteRate', () => {
  const good: Array<[string, number]> = [
    ['500000', 500_000],
    ['500k', 500_000],
    ['2M', 2_000_000],
    ['2MB/s', 2_000_000],
    ['1.5MiB/s', 1_572_864],
    ['800KiB', 819_200],
    [' 10 MB/s ', 10_000_000],
  ];
  for (const [text, want] of good) it(`${text} -> ${want}`, () => expect(parseByteRate(text)).toEqual({ ok: true, bytesPerSecond: want }));
  for (const bad of ['', 'fast', '-5M', '2 Mbit', '10 mbps', '10', '1e6']) it(`refuses ${JSON.stringify(bad)}`, () => expect(parseByteRate(bad)).toMatchObject({ ok: false, reason: 'bad_rate' }));
});
