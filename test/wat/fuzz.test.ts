// Random damage (flipped bytes, cuts, inserted and deleted runs) never throws, always ends, and with
// gzip input never invents a candidate: every member is CRC-checked, so whatever comes out was in the
// original file.
import { mulberry32 } from '../../shared/random.ts';
import { describe, expect, it } from 'vitest';
import { extractWat } from '../../shared/wat/extract.ts';
import { createWebMemberInflater } from '../../shared/wat/gzip.ts';
import { createJsMemberInflater } from '../../shared/wat/inflate.ts';
import type { Candidate } from '../../shared/wat/types.ts';
import { createZlibMemberInflater } from '../../server/wat/zlib-inflater.ts';
import { chunked, concat, gzipMembers, watRecord } from './helpers.ts';

/** Seeded, so a failure can be replayed. */
const prng = mulberry32;

function damage(bytes: Uint8Array, rnd: () => number): Uint8Array {
  let out: Uint8Array = bytes.slice();
  const edits = 1 + Math.floor(rnd() * 4);
  for (let e = 0; e < edits; e++) {
    const at = Math.floor(rnd() * out.byteLength);
    const kind = Math.floor(rnd() * 4);
    if (kind === 0) out[at] = Math.floor(rnd() * 256);
    else if (kind === 1) out = out.slice(0, at);
    else if (kind === 2) out = concat([out.subarray(0, at), new Uint8Array(1 + Math.floor(rnd() * 40)).map(() => Math.floor(rnd() * 256)), out.subarray(at)]);
    else out = concat([out.subarray(0, at), out.subarray(Math.min(out.byteLength, at + 1 + Math.floor(rnd() * 300)))]);
    if (out.byteLength === 0) break;
  }
  return out;
}

const records = Array.from({ length: 30 }, (_, n) =>
  watRecord(`https://f${n}.example/`, [{ url: `${n}.jpg`, alt: `fuzzed picture ${n}` }, { url: `x${n}.png`, alt: `second image ${n}` }]),
);
const key = (c: Candidate) => `${c.url} ${c.alt}`;

describe('random damage', () => {
  const gz = gzipMembers(records);
  const plain = concat(records);

  it('gzip, 300 damaged copies (zlib, JS inflate, DecompressionStream): no throw, no invented candidate', async () => {
    const clean = new Set<string>();
    await extractWat(chunked(gz), { inflater: createZlibMemberInflater(), detectLanguage: null, onCandidates: (b) => b.forEach((c) => clean.add(key(c))) });
    expect(clean.size).toBe(60);
    const rnd = prng(12345);
    for (let i = 0; i < 300; i++) {
      const bad = damage(gz, rnd);
      const inflater = i % 3 === 0 ? createWebMemberInflater() : i % 3 === 1 ? createJsMemberInflater() : createZlibMemberInflater();
      const found: Candidate[] = [];
      const s = await extractWat(chunked(bad, 1 + Math.floor(rnd() * 3000)), { inflater, detectLanguage: null, onCandidates: (b) => void found.push(...b) });
      for (const c of found) expect(clean.has(key(c)), `case ${i}: ${key(c)}`).toBe(true);
      expect(s.records).toBeLessThanOrEqual(30);
      expect(s.candidates).toBe(found.length);
    }
  });

  it('uncompressed, 300 damaged copies: no throw, always ends, records bounded', async () => {
    const rnd = prng(777);
    for (let i = 0; i < 300; i++) {
      const bad = damage(plain, rnd);
      const s = await extractWat(chunked(bad, 1 + Math.floor(rnd() * 3000)), { detectLanguage: null });
      // 31: an inserted run can hold a line that happens to split one record into two.
      expect(s.records).toBeLessThanOrEqual(31);
      expect(s.errors === 0).toBe(!s.damaged);
    }
  });
});
