// Format sniffing: gzip or uncompressed, also for slices that start mid-file.
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { extractWat } from '../../shared/wat/extract.ts';
import { createZlibMemberInflater } from '../../server/wat/zlib-inflater.ts';
import { chunked, concat, gzipMembers, warcRecord, watRecord } from './helpers.ts';

const rec = (n: number) => watRecord(`https://s${n}.example/`, [{ url: `${n}.jpg`, alt: `sniffed picture ${n}` }]);
// A plain WARC response record whose HTTP body is gzip-encoded, as crawlers store it.
const gzBody = warcRecord({ 'WARC-Type': 'response', 'Content-Type': 'application/http' }, concat([new TextEncoder().encode('HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n\r\n'), new Uint8Array(gzipSync('hello'))]));

async function formatOf(bytes: Uint8Array, startOffset = 0, chunk = 1000) {
  return extractWat(chunked(bytes, chunk), { inflater: createZlibMemberInflater(), detectLanguage: null, startOffset });
}

describe('format sniffing', () => {
  it('a plain WARC that holds gzip-encoded HTTP bodies is plain', async () => {
    const s = await formatOf(concat([gzBody, rec(1)]));
    expect(s).toMatchObject({ format: 'plain', records: 2, candidates: 1, errors: 0 });
  });

  it('a slice of a plain file that starts mid-record, before a gzip body: plain (the WARC line comes first)', async () => {
    const whole = concat([rec(1), rec(2), gzBody, rec(3)]);
    const start = rec(1).byteLength + 10;
    const s = await formatOf(whole.subarray(start), start);
    expect(s).toMatchObject({ format: 'plain', records: 2, candidates: 1, errors: 0 });
  });

  it('a slice of a gzip file that starts mid-member: gzip', async () => {
    const whole = gzipMembers([rec(1), rec(2), rec(3)]);
    const s = await formatOf(whole.subarray(30), 30);
    expect(s).toMatchObject({ format: 'gzip', records: 2, errors: 0 });
  });

  it('tiny chunks and text that is neither: plain, not_warc, and no quadratic slowdown', async () => {
    const t = performance.now();
    const s = await formatOf(new TextEncoder().encode('x'.repeat(200_000)), 0, 1);
    expect(s).toMatchObject({ format: 'plain', records: 0, errorsByReason: { not_warc: 1 } });
    expect(performance.now() - t).toBeLessThan(5000);
  });

  it('format can be forced', async () => {
    const s = await extractWat(chunked(concat([rec(1)])), { format: 'gzip', detectLanguage: null, inflater: createZlibMemberInflater() });
    expect(s.format).toBe('gzip');
    expect(s.records).toBe(0);
    expect(s.damaged).toBe(true);
  });
});
