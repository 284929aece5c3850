// Byte-range slices from a file and from a local HTTP server: every member is processed exactly once.
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWatExecutor } from '../../server/agent/executors.ts';
import { createGuardedFetch } from '../../server/fetch/guardedFetch.ts';
import { extractWatFromLocation } from '../../server/wat/extract-node.ts';
import { progressFraction, type Progress } from '../../shared/protocol/job.ts';
import { parseRange } from '../../server/wat/source.ts';
import { createWebMemberInflater } from '../../shared/wat/gzip.ts';
import type { Candidate, ExtractProgress } from '../../shared/wat/types.ts';
import { concat, gzipMembers, watRecord } from './helpers.ts';

const N = 60;
const records = Array.from({ length: N }, (_, n) =>
  watRecord(`https://site${n}.example/`, [{ url: `/img/${n}.jpg`, alt: `picture number ${n} ${'padding '.repeat(n % 7)}` }]),
);
const dir = mkdtempSync('/tmp/wat-range-');
const gzFile = `${dir}/slices.wat.gz`;
const plainFile = `${dir}/slices.wat`;
writeFileSync(gzFile, gzipMembers(records));
writeFileSync(plainFile, concat(records));

async function slice(location: string, start: number, end?: number, chunkBytes = 97) {
  const found: Candidate[] = [];
  const r = await extractWatFromLocation(location, {
    range: end === undefined ? { start } : { start, end },
    detectLanguage: null,
    chunkBytes,
    onCandidates: (b) => void found.push(...b),
  });
  if (!r.ok) throw new Error(r.detail);
  return { summary: r.summary, ids: found.map((c) => Number(c.alt.split(' ')[2])) };
}

/** Cuts [0, size) at the given points and checks the slices cover every record exactly once. */
async function expectExactCover(location: string, size: number, cuts: number[]) {
  const bounds = [0, ...cuts, size];
  const all: number[] = [];
  for (let i = 0; i + 1 < bounds.length; i++) {
    const { summary, ids } = await slice(location, bounds[i]!, bounds[i + 1]!);
    expect(summary.errors, `slice ${bounds[i]}-${bounds[i + 1]}`).toBe(0);
    all.push(...ids);
  }
  expect(all).toEqual(Array.from({ length: N }, (_, n) => n));
}

describe('byte-range slices of a file', () => {
  const gzSize = readFileSync(gzFile).byteLength;
  const plainSize = readFileSync(plainFile).byteLength;

  it('gzip: halves, thirds and 7 arbitrary cuts each process every member exactly once', async () => {
    await expectExactCover(gzFile, gzSize, [Math.floor(gzSize / 2)]);
    await expectExactCover(gzFile, gzSize, [Math.floor(gzSize / 3), Math.floor((2 * gzSize) / 3)]);
    await expectExactCover(gzFile, gzSize, [1, 2, 333, 1000, 1001, 5000, gzSize - 1]);
  });

  it('uncompressed: records that start in the slice, same exact cover', async () => {
    await expectExactCover(plainFile, plainSize, [Math.floor(plainSize / 2)]);
    await expectExactCover(plainFile, plainSize, [5, 777, 7777, plainSize - 3]);
  });

  it('a slice stops reading soon after its end instead of reading the whole file', async () => {
    const { summary } = await slice(gzFile, 0, 2000, 256);
    expect(summary.bytes).toBeLessThan(2000 + 2 * 1024);
    expect(summary.bytes).toBeGreaterThan(2000);
  });

  it('an open-ended range reads to the end; a start past the end is refused', async () => {
    const { ids } = await slice(gzFile, Math.floor(gzSize / 2));
    expect(ids.at(-1)).toBe(N - 1);
    const r = await extractWatFromLocation(gzFile, { range: { start: gzSize + 10 }, detectLanguage: null });
    expect(r).toMatchObject({ ok: false, reason: 'range_not_satisfiable' });
  });

  it('parseRange', () => {
    expect(parseRange('10-20')).toEqual({ ok: true, range: { start: 10, end: 20 } });
    expect(parseRange('10-')).toEqual({ ok: true, range: { start: 10 } });
    expect(parseRange('20-10').ok).toBe(false);
    expect(parseRange('abc').ok).toBe(false);
  });

  it('reports progress with records and bytes, ending at the summary totals', async () => {
    const seen: ExtractProgress[] = [];
    // One member at a time (the web inflater): progress can come after any member. (zlib inflates
    // runs of ~256 KB of members at once, so there progress comes at most once per run.)
    const r = await extractWatFromLocation(gzFile, {
      detectLanguage: null,
      inflater: createWebMemberInflater(),
      chunkBytes: 1000,
      progressEveryBytes: 4096,
      onProgress: (p) => seen.push(p),
    });
    if (!r.ok) throw new Error(r.detail);
    expect(seen.length).toBeGreaterThan(3);
    for (let i = 1; i < seen.length; i++) {
      expect(seen[i]!.records).toBeGreaterThanOrEqual(seen[i - 1]!.records);
      expect(seen[i]!.bytes).toBeGreaterThanOrEqual(seen[i - 1]!.bytes);
    }
    expect(seen.at(-1)).toEqual({ records: N, bytes: gzSize, inflatedBytes: r.summary.inflatedBytes, candidates: N, totalBytes: gzSize, sliceBytes: gzSize });
  });
});

describe('HTTP source on 127.0.0.1', () => {
  let server: Server;
  let base = '';
  const rangeHeaders: string[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      const file = req.url?.startsWith('/plain') ? plainFile : gzFile;
      const body = readFileSync(file);
      if (req.url === '/missing') {
        res.writeHead(404).end();
        return;
      }
      const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
      if (range && !req.url?.includes('norange')) {
        rangeHeaders.push(req.headers.range!);
        const start = Number(range[1]);
        if (start >= body.byteLength) {
          res.writeHead(416, { 'content-range': `bytes */${body.byteLength}` }).end();
          return;
        }
        res.writeHead(206, { 'content-range': `bytes ${start}-${body.byteLength - 1}/${body.byteLength}`, 'content-length': body.byteLength - start });
        // Small writes so the client sees many chunks.
        for (let i = start; i < body.byteLength; i += 500) res.write(body.subarray(i, Math.min(i + 500, body.byteLength)));
        res.end();
        return;
      }
      res.writeHead(200, { 'content-length': body.byteLength }).end(body);
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((ok) => server.close(ok));
  });

  it('whole file over HTTP gives the same candidates as the file', async () => {
    const http = await slice(`${base}/whole.wat.gz`, 0);
    const file = await slice(gzFile, 0);
    expect(http.ids).toEqual(file.ids);
    expect(http.summary).toMatchObject({ records: N, errors: 0, damaged: false, bytes: readFileSync(gzFile).byteLength });
  });

  it('slices use Range requests and cover every member exactly once', async () => {
    const size = readFileSync(gzFile).byteLength;
    rangeHeaders.length = 0;
    await expectExactCover(`${base}/slices.wat.gz`, size, [Math.floor(size / 3), Math.floor((2 * size) / 3)]);
    expect(rangeHeaders).toEqual([`bytes=${Math.floor(size / 3)}-`, `bytes=${Math.floor((2 * size) / 3)}-`]);
    const plainSize = readFileSync(plainFile).byteLength;
    await expectExactCover(`${base}/plain.wat`, plainSize, [Math.floor(plainSize / 2)]);
  });

  it("a WAT slice job's progress counts bytes up to the slice's length, so the page and agent can show a percentage", async () => {
    const progress: Progress[] = [];
    const ctx = { signal: new AbortController().signal, progress: (p: Progress) => void progress.push(p) };
    const size = readFileSync(gzFile).byteLength;
    const watExecutor = createWatExecutor({ fetchFn: createGuardedFetch({ allowPrivate: true }) });
    const out = await watExecutor.run({ jobId: '1', leaseId: randomUUID(), kind: 'wat', leaseDeadline: '', payload: { url: `${base}/slices.wat.gz`, crawl: null, slice: { index: 1, count: 2 }, range: null } }, ctx);
    expect(out.ok).toBe(true);
    expect(progress.length).toBeGreaterThan(0);
    const sliceBytes = size - Math.floor(size / 2);
    for (const p of progress) expect(p).toMatchObject({ unit: 'records', totalBytes: expect.any(Number) });
    expect(Math.abs(progress.at(-1)!.totalBytes! - sliceBytes)).toBeLessThanOrEqual(1);
    const last = progressFraction(progress.at(-1)!)!;
    expect(last).toBeGreaterThan(0.9); // the last member runs a little past the slice's end
    expect(last).toBeLessThanOrEqual(1);
  });

  it('a server that ignores Range (200) still gives the right slice', async () => {
    const size = readFileSync(gzFile).byteLength;
    await expectExactCover(`${base}/norange.wat.gz`, size, [Math.floor(size / 2)]);
  });

  it('404 and 416 are reasons, not exceptions', async () => {
    expect(await extractWatFromLocation(`${base}/missing`, { detectLanguage: null })).toMatchObject({ ok: false, reason: 'not_found', transient: false });
    expect(await extractWatFromLocation(`${base}/x.gz`, { range: { start: 10_000_000 }, detectLanguage: null })).toMatchObject({
      ok: false,
      reason: 'range_not_satisfiable',
    });
    expect(await extractWatFromLocation('http://127.0.0.1:1/nothing', { detectLanguage: null })).toMatchObject({ ok: false, reason: 'network_error', transient: true });
  });
});
