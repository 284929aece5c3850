// Constant memory (slow: ~12 s): a long stream is read without its size showing up in the heap. The input is
// generated on the fly (the same real-layout records over and over), so the test holds none of it.
import { gzipSync } from 'node:zlib';
import { expect, it } from 'vitest';
import { extractWat } from '../../shared/wat/extract.ts';
import { createZlibMemberInflater } from '../../server/wat/zlib-inflater.ts';
import { concat, watRecord } from './helpers.ts';

const links = Array.from({ length: 40 }, (_, i) => ({ url: `/img/${i}.jpg`, alt: `picture number ${i} of a long page` }));
const block = concat(Array.from({ length: 20 }, () => watRecord('https://mem.example/page', links)));
const gzBlock = concat(Array.from({ length: 20 }, () => new Uint8Array(gzipSync(watRecord('https://mem.example/page', links)))));

async function* repeat(bytes: Uint8Array, totalBytes: number): AsyncGenerator<Uint8Array> {
  for (let n = 0; n < totalBytes; n += bytes.byteLength) yield bytes;
}

function used(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

it('120 MB uncompressed and 60 MB of gzip members: memory stays flat', async () => {
  for (const [bytes, total, inflater] of [
    [block, 120e6, undefined],
    [gzBlock, 60e6, createZlibMemberInflater()],
  ] as const) {
    globalThis.gc?.();
    const before = used();
    let peak = before;
    const s = await extractWat(repeat(bytes, total), {
      inflater,
      detectLanguage: null,
      progressEveryBytes: 1 << 20,
      onProgress: () => void (peak = Math.max(peak, used())),
    });
    expect(s.errors).toBe(0);
    expect(s.bytes).toBeGreaterThanOrEqual(total);
    // Every page is the same: 40 candidates in all, the rest are duplicates.
    expect(s.candidates).toBe(40);
    expect(s.dropped.duplicate).toBe(s.imgLinks - 40);
    // Garbage is collected lazily, so allow some slack; what must not happen is growth with the input.
    expect(peak - before).toBeLessThan(48 * 1024 * 1024);
  }
});
