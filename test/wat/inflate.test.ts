// The pure-JavaScript inflater against zlib: identical output on every kind of deflate stream zlib
// writes, exact member ends, CRC/ISIZE checks, bombs and damage as reasons (never a throw or a hang).
import { constants, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { extractWat } from '../../shared/wat/extract.ts';
import { crc32, createJsMemberInflater, inflateGzipMembers } from '../../shared/wat/inflate.ts';
import type { Candidate } from '../../shared/wat/types.ts';
import { createZlibMemberInflater } from '../../server/wat/zlib-inflater.ts';
import { WAT_2014_GZ, bytesOf, chunked, concat } from './helpers.ts';

function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Data from random bytes to long repeats, so every block type and code shape shows up. */
function sample(rnd: () => number, size: number): Uint8Array {
  const kind = Math.floor(rnd() * 4);
  const out = new Uint8Array(size);
  const words = ['<img src="', '" alt="', 'https://example.org/', 'WARC-Type: metadata\r\n', '{"Links":[', 'the ', 'a '];
  let i = 0;
  while (i < size) {
    if (kind === 0) out[i++] = Math.floor(rnd() * 256);
    else if (kind === 1) out[i++] = 97 + Math.floor(rnd() * 4);
    else if (kind === 2) {
      const w = words[Math.floor(rnd() * words.length)]!;
      for (let k = 0; k < w.length && i < size; k++) out[i++] = w.charCodeAt(k);
    } else out[i++] = i % 251 < 200 ? 65 : Math.floor(rnd() * 256);
  }
  return out;
}

describe('inflateGzipMembers', () => {
  it('matches zlib on 240 streams: levels 0-9, huffman-only, RLE, fixed codes, 0 B to 300 KB', async () => {
    const rnd = prng(42);
    const strategies = [constants.Z_DEFAULT_STRATEGY, constants.Z_HUFFMAN_ONLY, constants.Z_RLE, constants.Z_FIXED, constants.Z_FILTERED];
    for (let i = 0; i < 240; i++) {
      const size = i < 5 ? i : Math.floor(rnd() ** 3 * 300_000);
      const data = sample(rnd, size);
      const gz = new Uint8Array(gzipSync(data, { level: i % 10, strategy: strategies[i % strategies.length]! }));
      const r = inflateGzipMembers(gz, 1 << 26);
      expect(r.ok, `case ${i}: ${JSON.stringify(r.ok ? '' : r)}`).toBe(true);
      if (r.ok) expect(Buffer.from(r.bytes).equals(Buffer.from(data)), `case ${i}`).toBe(true);
    }
  });

  it('reads concatenated members; reports the exact end when junk follows; tolerates zero padding', () => {
    const a = new TextEncoder().encode('first member ');
    const b = new TextEncoder().encode('second member');
    const gz = concat([new Uint8Array(gzipSync(a)), new Uint8Array(gzipSync(b))]);
    const r = inflateGzipMembers(gz, 1000);
    expect(r.ok && new TextDecoder().decode(r.bytes)).toBe('first member second member');
    const withJunk = inflateGzipMembers(concat([gz, new TextEncoder().encode('junk!')]), 1000);
    expect(withJunk).toMatchObject({ ok: true, memberBytes: gz.byteLength });
    const padded = inflateGzipMembers(concat([gz, new Uint8Array(64)]), 1000);
    expect(padded.ok && padded.memberBytes).toBe(undefined);
  });

  it('CRC, length, truncation and bombs are reasons', () => {
    const gz = new Uint8Array(gzipSync(sample(prng(1), 5000)));
    const badCrc = gz.slice();
    badCrc[gz.byteLength - 6] = badCrc[gz.byteLength - 6]! ^ 1;
    expect(inflateGzipMembers(badCrc, 1 << 20)).toMatchObject({ ok: false, reason: 'corrupt_gzip', detail: 'gzip CRC32 mismatch' });
    const badLen = gz.slice();
    badLen[gz.byteLength - 2] = badLen[gz.byteLength - 2]! ^ 1;
    expect(inflateGzipMembers(badLen, 1 << 20)).toMatchObject({ ok: false, reason: 'corrupt_gzip' });
    for (const cut of [5, 12, 100, gz.byteLength - 9, gz.byteLength - 1]) {
      expect(inflateGzipMembers(gz.subarray(0, cut), 1 << 20), `cut ${cut}`).toMatchObject({ ok: false, reason: 'truncated_gzip' });
    }
    const bomb = new Uint8Array(gzipSync(new Uint8Array(20_000_000)));
    expect(inflateGzipMembers(bomb, 1_000_000)).toMatchObject({ ok: false, reason: 'member_too_large' });
  });

  it('random damage never throws and never hangs', () => {
    const rnd = prng(99);
    const gz = new Uint8Array(gzipSync(sample(prng(3), 20_000)));
    for (let i = 0; i < 500; i++) {
      const bad = gz.slice();
      for (let k = 0; k < 1 + Math.floor(rnd() * 3); k++) bad[10 + Math.floor(rnd() * (bad.byteLength - 10))] = Math.floor(rnd() * 256);
      const r = inflateGzipMembers(bad.subarray(0, Math.floor(bad.byteLength * (0.5 + rnd() / 2))), 1 << 20);
      expect(typeof r.ok).toBe('boolean');
    }
  });

  it('crc32 of "123456789" is cbf43926', () => {
    expect(crc32(new TextEncoder().encode('123456789')).toString(16)).toBe('cbf43926');
  });

  it('as the extraction inflater: same result as zlib on the real 2014 WAT', async () => {
    const run = async (inflater: ReturnType<typeof createJsMemberInflater>) => {
      const found: Candidate[] = [];
      const s = await extractWat(chunked(bytesOf(WAT_2014_GZ), 700), { inflater, detectLanguage: null, onCandidates: (b) => void found.push(...b) });
      return { s: { ...s, seconds: 0 }, found };
    };
    expect(await run(createJsMemberInflater())).toEqual(await run(createZlibMemberInflater()));
  });
});
