// The agent's WAT downloads follow the image fetcher's rules: checked address on every hop, at most 5
// redirects, our User-Agent, the bandwidth cap. 127.0.0.2 stands for a public host (allowAddresses), while
// 127.0.0.1 and the metadata address stay refused.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWatExecutor } from '../../server/agent/executors.ts';
import { USER_AGENT } from '../../server/fetch/fetcher.ts';
import { BlockedAddressError, createGuardedFetch } from '../../server/fetch/guardedFetch.ts';
import { TokenBucket } from '../../server/fetch/limits.ts';
import { startFixtureWeb, type FixtureWeb } from '../helpers/fixtureWeb.ts';

const WAT = readFileSync(join(import.meta.dirname, '../fixtures/wat/cc-main-2014-35/CC-MAIN-20140820021334-00006-ip-10-180-136-8.ec2.internal.warc.wat.gz'));
let web: FixtureWeb;
const A = '127.0.0.2';

beforeAll(async () => {
  web = await startFixtureWeb({ hosts: [{ ip: A }, { ip: '127.0.0.1' }] });
  web.route('/crawl/x.wat.gz', (req, res) => {
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const start = range ? Number(range[1]) : 0;
    res.writeHead(range ? 206 : 200, { 'content-type': 'application/octet-stream', 'content-length': WAT.length - start, ...(range ? { 'content-range': `bytes ${start}-${WAT.length - 1}/${WAT.length}` } : {}) });
    res.end(WAT.subarray(start));
  });
});
afterAll(() => web.close());

const guarded = (o: Parameters<typeof createGuardedFetch>[0] = {}) => createGuardedFetch({ allowAddresses: new Set([A]), ...o });

describe('guarded fetch (WAT downloads)', () => {
  it('downloads from an allowed host with our User-Agent and the Range header', async () => {
    const res = await guarded()(web.urlFor(A, '/crawl/x.wat.gz'), { headers: { range: 'bytes=100-' } });
    expect(res.status).toBe(206);
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(new Uint8Array(WAT.subarray(100)));
    expect(web.requests.at(-1)).toMatchObject({ path: '/crawl/x.wat.gz', userAgent: USER_AGENT });
  });

  it('refuses loopback and the metadata address, first hop or after a redirect, before connecting', async () => {
    const before = web.requests.length;
    await expect(guarded()(web.urlFor(1, '/crawl/x.wat.gz'))).rejects.toBeInstanceOf(BlockedAddressError);
    expect(web.requests.length).toBe(before);
    const toLoop = web.urlFor(A, `/hostile/redirect?to=${encodeURIComponent(web.urlFor(1, '/crawl/x.wat.gz'))}`);
    await expect(guarded()(toLoop)).rejects.toMatchObject({ code: 'BLOCKED_ADDRESS', message: expect.stringContaining('127.0.0.1') });
    const toMeta = web.urlFor(A, `/hostile/redirect?to=${encodeURIComponent('http://169.254.169.254/latest/meta-data/')}`);
    await expect(guarded()(toMeta)).rejects.toMatchObject({ code: 'BLOCKED_ADDRESS', message: expect.stringContaining('linkLocal') });
    expect(web.requests.slice(before).map((r) => r.path)).toEqual(['/hostile/redirect', '/hostile/redirect']);
    // a name is resolved here and every address checked
    await expect(guarded({ lookup: async () => [{ address: '10.0.0.7', family: 4 }] })('http://wat.example.org/x.wat.gz')).rejects.toMatchObject({ message: expect.stringContaining('10.0.0.7') });
  });

  it('follows 5 redirects and refuses the 6th', async () => {
    expect((await guarded()(web.urlFor(A, '/hostile/chain/5'))).status).toBe(200);
    await expect(guarded()(web.urlFor(A, '/hostile/chain/6'))).rejects.toThrow(/more than 5 redirects/);
  });

  it('holds the body to the bandwidth cap', async () => {
    const rate = 4096;
    const t0 = performance.now();
    const res = await guarded({ bucket: new TokenBucket(rate) })(web.urlFor(A, '/crawl/x.wat.gz'));
    expect((await res.arrayBuffer()).byteLength).toBe(WAT.length);
    // one second of burst, then the rate: (8248 - 4096) / 4096 = 1 s at least
    expect((performance.now() - t0) / 1000).toBeGreaterThan(((WAT.length - rate) / rate) * 0.85);
  });

  it('a WAT job pointed at a private address fails for good, without a request', async () => {
    const before = web.requests.length;
    const executor = createWatExecutor({ fetchFn: guarded() });
    const run = (url: string, slice: { index: number; count: number } | null) =>
      executor.run({ jobId: '1', leaseId: randomUUID(), kind: 'wat', leaseDeadline: '', payload: { url, crawl: null, slice, range: null } }, { signal: new AbortController().signal, progress: () => {} });
    expect(await run('http://169.254.169.254/x.wat.gz', null)).toMatchObject({ ok: false, reason: 'source_blocked_address', transient: false });
    // sliced jobs start with a HEAD request for the size: refused the same way
    expect(await run(web.urlFor(1, '/crawl/x.wat.gz'), { index: 0, count: 2 })).toMatchObject({ ok: false, reason: 'source_blocked_address', transient: false });
    expect(web.requests.length).toBe(before);
    expect(await run(web.urlFor(A, '/crawl/x.wat.gz'), { index: 0, count: 2 })).toMatchObject({ ok: true });
  });
});
