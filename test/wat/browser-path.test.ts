// The code path a page or Web Worker takes: a fetch body (web ReadableStream) -> DecompressionStream
// member inflater -> extraction, with only web APIs (no node:zlib, no Node streams). Chromium itself
// runs it in browser.slow.test.ts.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { extractWat } from '../../shared/wat/extract.ts';
import { openWatUrl, streamChunks } from '../../shared/wat/source.ts';
import type { Candidate } from '../../shared/wat/types.ts';
import { WAT_2014_GZ, bytesOf, gzipMembers, readableOf, watRecord } from './helpers.ts';

describe('browser code path in Node (ReadableStream + DecompressionStream)', () => {
  it('a ReadableStream of the real 2014 WAT gives the SOURCES.md counts with the default (web) inflater and ELD', async () => {
    const found: Candidate[] = [];
    // No inflater and no detector given: the defaults are the browser ones.
    const summary = await extractWat(streamChunks(readableOf(bytesOf(WAT_2014_GZ), 512)), { onCandidates: (b) => void found.push(...b) });
    expect(summary).toMatchObject({ records: 9, metadataRecords: 8, imgLinks: 4, withAlt: 4, candidates: 2, damaged: false, format: 'gzip' });
    expect(found[1]).toMatchObject({ alt: 'Creative Commons License', language: 'en' });
  });

  it('streamChunks cancels the stream when the consumer stops early', async () => {
    let cancelled = false;
    const stream = new ReadableStream<Uint8Array>({
      pull: (c) => c.enqueue(new Uint8Array(10)),
      cancel: () => void (cancelled = true),
    });
    for await (const _ of streamChunks(stream)) break;
    expect(cancelled).toBe(true);
  });

  describe('openWatUrl (fetch) against 127.0.0.1', () => {
    const records = Array.from({ length: 30 }, (_, n) => watRecord(`https://p${n}.example/`, [{ url: `${n}.jpg`, alt: `web picture ${n}` }]));
    const file = gzipMembers(records);
    let server: Server;
    let base = '';
    beforeAll(async () => {
      server = createServer((req, res) => {
        const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
        const start = m ? Number(m[1]) : 0;
        res.writeHead(m ? 206 : 200, m ? { 'content-range': `bytes ${start}-${file.byteLength - 1}/${file.byteLength}` } : {});
        res.end(file.subarray(start));
      });
      await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(async () => {
      server.closeAllConnections();
      await new Promise((ok) => server.close(ok));
    });

    it('two slices of a fetched WAT give every candidate once', async () => {
      const half = Math.floor(file.byteLength / 2);
      const alts: string[] = [];
      for (const range of [{ start: 0, end: half }, { start: half }]) {
        const src = await openWatUrl(`${base}/x.wat.gz`, { range });
        if (!src.ok) throw new Error(src.detail);
        if (range.start > 0) expect(src.totalBytes).toBe(file.byteLength); // from Content-Range
        const s = await extractWat(src.chunks, {
          startOffset: src.startOffset,
          endOffset: src.endOffset,
          detectLanguage: null,
          onCandidates: (b) => void alts.push(...b.map((c) => c.alt)),
        });
        expect(s.errors).toBe(0);
      }
      expect(alts).toEqual(records.map((_, n) => `web picture ${n}`));
    });
  });
});
