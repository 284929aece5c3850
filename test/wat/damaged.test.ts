// Damaged input loses nothing that can be read: each case asserts what was still extracted.
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { extractWat, type ExtractOptions } from '../../shared/wat/extract.ts';
import { createWebMemberInflater } from '../../shared/wat/gzip.ts';
import { createJsMemberInflater } from '../../shared/wat/inflate.ts';
import type { Candidate, ExtractSummary } from '../../shared/wat/types.ts';
import { createZlibMemberInflater } from '../../server/wat/zlib-inflater.ts';
import { chunked, concat, gzipMembers, warcRecord, watJson, watRecord } from './helpers.ts';

const enc = new TextEncoder();
const page = (n: number) => `https://site${n}.example/page`;
/** Record n holds one candidate whose alt is "picture number n". */
const rec = (n: number, opts: { contentLength?: number; body?: string } = {}) =>
  watRecord(page(n), [{ url: `/img/${n}.jpg`, alt: `picture number ${n}` }], opts);
const altsOf = (found: Candidate[]) => found.map((c) => Number(c.alt.split(' ').pop()));

/** `web`: false = zlib, true = DecompressionStream, 'js' = the JavaScript inflater. */
async function run(bytes: Uint8Array, chunkSize = 1000, extra: ExtractOptions = {}, web: boolean | 'js' = false): Promise<{ summary: ExtractSummary; found: Candidate[] }> {
  const found: Candidate[] = [];
  const summary = await extractWat(chunked(bytes, chunkSize), {
    inflater: web === 'js' ? createJsMemberInflater() : web ? createWebMemberInflater() : createZlibMemberInflater(),
    detectLanguage: null,
    onCandidates: (b) => void found.push(...b),
    ...extra,
  });
  return { summary, found };
}

const sizes = [1, 100, 1 << 16];

describe('truncated last gzip member', () => {
  for (const size of sizes) {
    it(`keeps every record before it (chunks of ${size})`, async () => {
      const whole = gzipMembers([1, 2, 3, 4].map((n) => rec(n)));
      const cut = whole.subarray(0, whole.byteLength - 30);
      for (const web of [false, true, 'js'] as const) {
        const { summary, found } = await run(cut, size, {}, web);
        expect(altsOf(found)).toEqual([1, 2, 3]);
        expect(summary).toMatchObject({ records: 3, damaged: true, errors: 1, errorsByReason: { truncated_gzip: 1 } });
      }
    });
  }

  it('a cut inside the 10-byte header of the last member is truncated_gzip too', async () => {
    const [a, b] = [1, 2].map((n) => new Uint8Array(gzipSync(rec(n))));
    const { summary, found } = await run(concat([a!, b!.subarray(0, 5)]), 3);
    expect(altsOf(found)).toEqual([1]);
    expect(summary.errorsByReason).toEqual({ truncated_gzip: 1 });
  });
});

describe('corrupt gzip member in the middle', () => {
  it('skips that member only and resyncs on the next one', async () => {
    const members = [1, 2, 3, 4].map((n) => new Uint8Array(gzipSync(rec(n))));
    const bad = members[1]!.slice();
    for (let i = 20; i < bad.byteLength - 12; i += 7) bad[i] = bad[i]! ^ 0x5a; // ruin the deflate data
    members[1] = bad;
    for (const web of [false, true, 'js'] as const) {
      const { summary, found } = await run(concat(members), 64, {}, web);
      expect(altsOf(found)).toEqual([1, 3, 4]);
      expect(summary).toMatchObject({ records: 3, damaged: true });
      expect(summary.errorsByReason).toEqual({ corrupt_gzip: 1 });
    }
  });

  it('junk bytes before, between and after members are skipped with one error each', async () => {
    const [a, b] = [1, 2].map((n) => new Uint8Array(gzipSync(rec(n))));
    const junk = enc.encode('this is not gzip at all');
    for (const web of [false, true, 'js'] as const) {
      const { summary, found } = await run(concat([junk, a!, junk, b!, junk]), 10, {}, web);
      expect(altsOf(found)).toEqual([1, 2]);
      expect(summary.errors).toBe(3);
      expect(summary.errorsByReason).toEqual({ corrupt_gzip: 3 });
    }
  });

});

describe('broken JSON record', () => {
  for (const gz of [true, false]) {
    it(`counts it, and reads the records before and after (${gz ? 'gzip' : 'plain'})`, async () => {
      const broken = watJson(page(2), [{ url: '/img/2.jpg', alt: 'picture number 2' }]).slice(0, -40);
      const records = [rec(1), rec(2, { body: broken }), rec(3)];
      const { summary, found } = await run(gz ? gzipMembers(records) : concat(records), 77);
      expect(altsOf(found)).toEqual([1, 3]);
      expect(summary).toMatchObject({ records: 3, metadataRecords: 3, damaged: true, errors: 1, errorsByReason: { bad_json: 1 } });
      expect(summary.errorSamples[0]!.detail).toMatch(/JSON/);
    });
  }
  it('a record without image links cut short is noticed by its ends; damage inside it only with parseAllJson', async () => {
    const cut = [rec(1), rec(2, { body: '{"Envelope": {"no links here"' }), rec(3)];
    const quick = await run(concat(cut));
    expect(altsOf(quick.found)).toEqual([1, 3]);
    expect(quick.summary).toMatchObject({ damaged: true, errors: 1, errorsByReason: { bad_json: 1 } });
    const inside = [rec(1), rec(2, { body: '{"Envelope": {"no links" here}} ' }), rec(3)];
    expect((await run(concat(inside))).summary.errors).toBe(0); // not parsed: records without IMG@ are skipped for speed
    const full = await run(concat(inside), 1000, { parseAllJson: true });
    expect(altsOf(full.found)).toEqual([1, 3]);
    expect(full.summary.errorsByReason).toEqual({ bad_json: 1 });
  });
});

describe('wrong Content-Length', () => {
  for (const gz of [true, false]) {
    const wrap = (r: Uint8Array[]) => (gz ? gzipMembers(r) : concat(r));
    const label = gz ? 'gzip' : 'plain';

    it(`too short: resyncs on the next record and still reads the short one (${label})`, async () => {
      const two = rec(2);
      const { summary, found } = await run(wrap([rec(1), rec(2, { contentLength: 50 }), rec(3)]), 100);
      expect(two.byteLength).toBeGreaterThan(100);
      expect(altsOf(found)).toEqual([1, 2, 3]);
      expect(summary).toMatchObject({ records: 3, damaged: true, errors: 1, errorsByReason: { content_length_mismatch: 1 } });
    });

    it(`too long: the record is cut where the next one starts, none is swallowed (${label})`, async () => {
      const { summary, found } = await run(wrap([rec(1), rec(2, { contentLength: 900 }), rec(3), rec(4)]), 100);
      expect(altsOf(found)).toEqual([1, 2, 3, 4]);
      expect(summary).toMatchObject({ records: 4, damaged: true, errors: 1, errorsByReason: { content_length_mismatch: 1 } });
    });

    it(`too long on the last record: its body runs to the end of input (${label})`, async () => {
      const { summary, found } = await run(wrap([rec(1), rec(2, { contentLength: 5000 })]), 64);
      expect(altsOf(found)).toEqual([1, 2]);
      expect(summary).toMatchObject({ records: 2, damaged: true, errorsByReason: { truncated_record: 1 } });
    });

    it(`missing or non-numeric: skipped to the next record (${label})`, async () => {
      const { summary, found } = await run(wrap([rec(1), rec(2, { contentLength: 'twelve' as unknown as number }), rec(3)]), 100);
      expect(altsOf(found)).toEqual([1, 3]);
      expect(summary.errorsByReason).toEqual({ bad_content_length: 1 });
    });
  }
});

describe('hostile Content-Length', () => {
  it('a huge value is skipped without allocating it, and the next records are read', async () => {
    const before = process.memoryUsage().arrayBuffers;
    for (const gz of [true, false]) {
      const records = [rec(1), rec(2, { contentLength: 999_999_999_999_999 }), rec(3), rec(4, { contentLength: 3_000_000_000 })];
      const { summary, found } = await run(gz ? gzipMembers(records) : concat(records), 1000);
      expect(altsOf(found)).toEqual([1, 3]);
      expect(summary).toMatchObject({ records: 4, damaged: true, errors: 2, errorsByReason: { record_too_large: 2 } });
    }
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(64 * 1024 * 1024);
  });

  it('the record cap is configurable; a 20-digit length is bad_content_length', async () => {
    const big = watRecord(page(2), [{ url: '/img/2.jpg', alt: 'picture number 2'.padEnd(800, '!') }]);
    const { summary, found } = await run(concat([rec(1), big, rec(3, { contentLength: 1e20 }), rec(4)]), 500, { maxRecordBytes: 600 });
    expect(rec(1).byteLength).toBeLessThan(600);
    expect(altsOf(found)).toEqual([1, 4]);
    expect(summary.errorsByReason).toEqual({ record_too_large: 1, bad_content_length: 1 });
  });

  it('a gzip bomb member is stopped at the cap (member_too_large) and the next member is read', async () => {
    const bomb = new Uint8Array(gzipSync(warcRecord({ 'WARC-Type': 'metadata' }, new Uint8Array(50 * 1024 * 1024))));
    expect(bomb.byteLength).toBeLessThan(100_000);
    for (const web of [false, true, 'js'] as const) {
      const { summary, found } = await run(concat([gzipMembers([rec(1)]), bomb, gzipMembers([rec(2)])]), 4096, { maxRecordBytes: 1024 * 1024 }, web);
      expect(altsOf(found)).toEqual([1, 2]);
      expect(summary.errorsByReason).toEqual({ member_too_large: 1 });
    }
  });
});

describe('not a WAT file', () => {
  it('plain text, a PNG-like binary and a gzip of text: not_warc, no crash', async () => {
    const png = new Uint8Array(5000).map((_, i) => (i * 7919) % 251);
    png.set([0x89, 0x50, 0x4e, 0x47]);
    for (const bytes of [enc.encode('hello\nworld\n'.repeat(1000)), png, new Uint8Array(gzipSync(enc.encode('{"not":"warc"}\n'.repeat(500))))]) {
      const { summary } = await run(bytes, 333);
      expect(summary).toMatchObject({ records: 0, candidates: 0, damaged: true, errors: 1, errorsByReason: { not_warc: 1 } });
    }
  });

  it('empty input is clean and empty', async () => {
    const { summary } = await run(new Uint8Array(0));
    expect(summary).toMatchObject({ records: 0, errors: 0, damaged: false, bytes: 0 });
  });

  it('junk before the first record is one bad_record_start, the records are read', async () => {
    const { summary, found } = await run(concat([enc.encode('garbage line\r\n'), rec(1), rec(2)]), 5);
    expect(altsOf(found)).toEqual([1, 2]);
    expect(summary.errorsByReason).toEqual({ bad_record_start: 1 });
  });
});

describe('a source that fails mid-way', () => {
  it('keeps what was read and reports read_error', async () => {
    const members = [1, 2, 3].map((n) => new Uint8Array(gzipSync(rec(n))));
    const bytes = concat(members);
    const firstTwo = members[0]!.byteLength + members[1]!.byteLength;
    async function* failing() {
      yield bytes.slice(0, firstTwo);
      throw new Error('socket hang up');
    }
    const found: Candidate[] = [];
    const summary = await extractWat(failing(), { inflater: createZlibMemberInflater(), detectLanguage: null, onCandidates: (b) => void found.push(...b) });
    expect(altsOf(found)).toEqual([1, 2]);
    expect(summary.errorsByReason).toEqual({ read_error: 1 });
    expect(summary.damaged).toBe(true);
  });
});

describe('damage inside a long file (zlib inflates runs of members at once there)', () => {
  it('a corrupt member and a bad record in the middle of ~1 MB: only they are lost, same as one member at a time', async () => {
    const n = 2500;
    const members = Array.from({ length: n }, (_, i) => new Uint8Array(gzipSync(rec(i, i === 1700 ? { body: watJson(page(i), [{ url: 'x.jpg', alt: 'broken record' }]).slice(0, -3) } : {}))));
    const bad = members[900]!.slice();
    for (let i = 20; i < bad.byteLength - 12; i += 5) bad[i] = bad[i]! ^ 0xa5;
    members[900] = bad;
    const file = concat(members);
    expect(file.byteLength).toBeGreaterThan(3 * 256 * 1024);
    const want = Array.from({ length: n }, (_, i) => i).filter((i) => i !== 900 && i !== 1700);
    for (const web of [false, true, 'js'] as const) {
      const { summary, found } = await run(file, 64 * 1024, {}, web);
      expect(altsOf(found)).toEqual(want);
      expect(summary).toMatchObject({ records: n - 1, errors: 2, errorsByReason: { corrupt_gzip: 1, bad_json: 1 } });
    }
  });
});

describe('a gzip header look-alike inside a member', () => {
  it('is a false candidate: the member is extended past it, nothing is lost, no error', async () => {
    // Stored (level 0) deflate copies the record bytes verbatim, so a fake header in a binary record
    // body shows up in the compressed stream.
    const fake = new Uint8Array([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0, 0xff, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20]);
    const binary = warcRecord({ 'WARC-Type': 'resource', 'Content-Type': 'application/octet-stream' }, concat([new Uint8Array(100), fake, new Uint8Array(100)]));
    const member = new Uint8Array(gzipSync(binary, { level: 0 }));
    expect(member.indexOf(0x1f, 10)).toBeGreaterThan(0); // the look-alike is in the compressed bytes
    const file = concat([new Uint8Array(gzipSync(rec(1))), member, new Uint8Array(gzipSync(rec(2)))]);
    for (const web of [false, true, 'js'] as const) {
      const { summary, found } = await run(file, 50, {}, web);
      expect(altsOf(found)).toEqual([1, 2]);
      expect(summary).toMatchObject({ records: 3, errors: 0, damaged: false });
    }
  });
});
