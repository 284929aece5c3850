import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFetcher, USER_AGENT, type FetcherOptions, type ResolvedAddress } from '../../server/fetch/fetcher.ts';
import { fetchAndPrepare } from '../../server/image/pipeline.ts';
import { FIXTURE_IMAGES_DIR, startFixtureWeb, type FixtureWeb } from '../helpers/fixtureWeb.ts';

// Three "hosts": A and B are exempted from the address policy by exact IP (they stand in for public
// sites), while 127.0.0.1 stays refused, so a redirect from A to 127.0.0.1 must be stopped by the check
// and never reach the server listening there.
const A = '127.0.0.2';
const B = '127.0.0.3';
const LOOP = '127.0.0.1';
let web: FixtureWeb;
beforeAll(async () => {
  web = await startFixtureWeb({ hosts: [{ ip: A, cors: true }, { ip: B }, { ip: LOOP }] });
});
afterAll(async () => {
  await web.close();
});

const TEST_OPTIONS: Partial<FetcherOptions> = { allowAddresses: [A, B, '127.0.0.4'], totalTimeoutMs: 700, connectTimeoutMs: 500, retryDelayMs: 10, maxBytes: 1024 * 1024 };
async function probe(url: string, options: Partial<FetcherOptions> = {}, deps = {}) {
  const fetcher = createFetcher({ ...TEST_OPTIONS, ...options }, deps);
  try {
    return (await fetchAndPrepare(fetcher, url)).result;
  } finally {
    await fetcher.close();
  }
}
const sha = (f: string) => createHash('sha256').update(readFileSync(join(FIXTURE_IMAGES_DIR, f))).digest('hex');

describe('real images', () => {
  for (const [file, format, w, h] of [
    ['skimage-rocket.jpg', 'jpeg', 640, 427],
    ['skimage-rocket-progressive.jpg', 'jpeg', 640, 427],
    ['CLIP.png', 'png', 2162, 762],
    ['skimage-camera.png', 'png', 512, 512],
    ['skimage-horse.png', 'png', 400, 328],
    ['coco-val2017-000000039769.png', 'png', 640, 480],
    ['chelsea-exif6.webp', 'webp', 180, 120], // stored 120x180, EXIF orientation 6
  ] as const) {
    it(`${file} -> ok ${w}x${h}, sha256 of the bytes`, async () => {
      const r = await probe(web.urlFor(A, `/images/${file}`));
      expect(r).toMatchObject({ status: 'ok', httpStatus: 200, format, width: w, height: h, sha256: sha(file), redirects: 0, attempts: 1 });
    });
  }
  it('sends our User-Agent', async () => {
    await probe(web.urlFor(B, '/images/skimage-rocket.jpg?ua=1'));
    const req = web.requests.find((r) => r.url === '/images/skimage-rocket.jpg?ua=1');
    expect(req?.userAgent).toBe(USER_AGENT);
    expect(USER_AGENT).toMatch(/^crawlswarm\/[\d.]+ \(\+https:\/\/github\.com\/crawlswarm\/crawlswarm; /);
  });
  it('the 3 KB WebP is too-small', async () => {
    expect(await probe(web.urlFor(A, '/images/pillow-hopper.webp'))).toMatchObject({ status: 'too-small', bytes: 3282 });
  });
});

describe('address safety, first hop and every redirect', () => {
  it('refuses a redirect to 127.0.0.1 before connecting', async () => {
    const target = web.urlFor(LOOP, '/images/skimage-rocket.jpg?r=1');
    const r = await probe(web.urlFor(A, `/hostile/redirect?to=${encodeURIComponent(target)}`));
    expect(r).toMatchObject({ status: 'blocked-address', redirects: 1, finalUrl: target });
    expect(web.count('/images/skimage-rocket.jpg', LOOP)).toBe(0);
  });
  it('refuses a redirect to the cloud metadata address', async () => {
    const r = await probe(web.urlFor(A, `/hostile/redirect?to=${encodeURIComponent('http://169.254.169.254/latest/meta-data/')}`));
    expect(r).toMatchObject({ status: 'blocked-address', redirects: 1, detail: '169.254.169.254 is linkLocal' });
  });
  it('refuses loopback mid-chain (A -> B -> 127.0.0.1), without a request reaching it', async () => {
    const before = web.requests.length;
    const target = `http://127.0.0.1:${new URL(web.urlFor(A, '/')).port}/images/skimage-rocket.jpg?midchain=1`;
    const hop2 = web.urlFor(B, `/hostile/redirect?to=${encodeURIComponent(target)}`);
    const r = await probe(web.urlFor(A, `/hostile/redirect?code=301&to=${encodeURIComponent(hop2)}`));
    expect(r).toMatchObject({ status: 'blocked-address', redirects: 2, finalUrl: target });
    expect(web.requests.slice(before).filter((q) => q.url.includes('midchain=1'))).toEqual([]);
  });
  it('refuses the metadata address mid-chain (A -> B -> 169.254.169.254)', async () => {
    const hop2 = web.urlFor(B, `/hostile/redirect?to=${encodeURIComponent('http://169.254.169.254/latest/meta-data/iam')}`);
    const r = await probe(web.urlFor(A, `/hostile/redirect?code=307&to=${encodeURIComponent(hop2)}`));
    expect(r).toMatchObject({ status: 'blocked-address', redirects: 2 });
    expect(web.requests.filter((q) => q.host === B && q.url.includes('meta-data%2Fiam')).length).toBe(1);
  });
  it('refuses loopback literals, IPv6 loopback and IPv4-mapped IPv6 on the first hop', async () => {
    expect(await probe(web.urlFor(LOOP, '/images/skimage-rocket.jpg'))).toMatchObject({ status: 'blocked-address' });
    expect(await probe(`http://[::1]:${web.hosts[2]!.port}/images/skimage-rocket.jpg`)).toMatchObject({ status: 'blocked-address' });
    expect(await probe(`http://[::ffff:127.0.0.1]:${web.hosts[2]!.port}/x.jpg`)).toMatchObject({ status: 'blocked-address' });
    expect(await probe(`http://2130706433:${web.hosts[2]!.port}/x.jpg`)).toMatchObject({ status: 'blocked-address' }); // 127.0.0.1 as an integer
  });
  it('a name resolving to 127.0.0.1 (localhost, real DNS) is blocked; with allowPrivate it is fetched', async () => {
    const url = `http://localhost:${web.hosts[2]!.port}/images/skimage-rocket.jpg?localhost=1`;
    expect(await probe(url)).toMatchObject({ status: 'blocked-address', detail: expect.stringContaining('loopback') });
    expect(web.count('/images/skimage-rocket.jpg', LOOP)).toBe(0);
    expect(await probe(url, { allowPrivate: true })).toMatchObject({ status: 'ok', width: 640 });
    expect(web.count('/images/skimage-rocket.jpg', LOOP)).toBe(1);
  });
  it('connects to the checked address with no second lookup, keeping the Host header', async () => {
    const calls: string[] = [];
    const lookup = async (name: string): Promise<ResolvedAddress[]> => {
      calls.push(name);
      return name === 'img.example.test' ? [{ address: A, family: 4 }] : [];
    };
    const fetcher = createFetcher(TEST_OPTIONS, { lookup });
    const r = (await fetchAndPrepare(fetcher, `http://img.example.test:${web.hosts[0]!.port}/images/skimage-rocket.jpg?pin=1`)).result;
    expect(fetcher.stats().pinnedHosts).toBe(0); // pins live only while a hop uses them
    await fetcher.close();
    expect(r.status).toBe('ok');
    expect(calls).toEqual(['img.example.test']);
    const req = web.requests.find((q) => q.url === '/images/skimage-rocket.jpg?pin=1');
    expect(req?.hostHeader).toBe(`img.example.test:${web.hosts[0]!.port}`);
  });
  it('refuses a name if any of its addresses is refused, and reports DNS failures', async () => {
    const lookup = async (name: string): Promise<ResolvedAddress[]> => {
      if (name === 'mixed.example.test') return [{ address: A, family: 4 }, { address: '10.0.0.1', family: 4 }];
      throw Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' });
    };
    expect(await probe(`http://mixed.example.test:${web.hosts[0]!.port}/images/skimage-rocket.jpg`, {}, { lookup })).toMatchObject({ status: 'blocked-address', detail: expect.stringContaining('10.0.0.1 is private') });
    expect(await probe('http://nowhere.example.test/x.jpg', {}, { lookup })).toMatchObject({ status: 'dns-error', detail: expect.stringContaining('ENOTFOUND') });
  });
});

describe('hostile cases', () => {
  it('redirect loop', async () => {
    expect(await probe(web.urlFor(A, '/hostile/loop-a'))).toMatchObject({ status: 'redirect-loop', redirects: 2 });
  });
  it('5 redirects are followed, the 6th is refused', async () => {
    expect(await probe(web.urlFor(A, '/hostile/chain/5'))).toMatchObject({ status: 'ok', redirects: 5 });
    expect(await probe(web.urlFor(A, '/hostile/chain/6'))).toMatchObject({ status: 'too-many-redirects', redirects: 5 });
    expect(web.count('/hostile/chain/0', A)).toBe(1);
  });
  it('1x1 tracking pixel is too-small; a 1x1 GIF is not-image', async () => {
    expect(await probe(web.urlFor(A, '/hostile/pixel.png'))).toMatchObject({ status: 'too-small', width: 1, height: 1 });
    expect(await probe(web.urlFor(A, '/hostile/pixel.gif'))).toMatchObject({ status: 'not-image' });
  });
  it('PNG header claiming 100000x100000 is a bomb', async () => {
    expect(await probe(web.urlFor(A, '/hostile/bomb.png'))).toMatchObject({ status: 'bomb', detail: expect.stringContaining('100000x100000') });
  });
  it('HTML (and GIF) served as image/jpeg is not-image', async () => {
    expect(await probe(web.urlFor(A, '/hostile/html-as-jpeg'))).toMatchObject({ status: 'not-image', httpStatus: 200 });
    expect(await probe(web.urlFor(A, '/hostile/gif-as-jpeg'))).toMatchObject({ status: 'not-image', detail: 'gif' });
  });
  it('endless body: too-large, stopped while streaming, the server sees the connection cut', async () => {
    const r = await probe(web.urlFor(B, '/hostile/endless.jpg'));
    expect(r).toMatchObject({ status: 'too-large', attempts: 1 });
    expect(r.bytes).toBeGreaterThan(1024 * 1024);
    expect(r.bytes).toBeLessThan(1024 * 1024 + 256 * 1024);
    await web.settled();
    const req = web.requests.find((q) => q.path === '/hostile/endless.jpg')!;
    expect(req.closedEarly).toBe(true);
    expect(req.bytesSent).toBeLessThan(16 * 1024 * 1024);
  });
  it('a Content-Length over the cap is refused without reading the body', async () => {
    expect(await probe(web.urlFor(B, '/hostile/huge-length.jpg'))).toMatchObject({ status: 'too-large', bytes: 0, detail: expect.stringContaining('Content-Length') });
  });
  it('stall after headers: timeout, retried once', async () => {
    const t0 = performance.now();
    const r = await probe(web.urlFor(B, '/hostile/stall.jpg'));
    expect(r).toMatchObject({ status: 'timeout', attempts: 2 });
    expect(web.count('/hostile/stall.jpg', B)).toBe(2);
    expect(performance.now() - t0).toBeGreaterThan(2 * 700 - 50);
  });
  it('a body that trickles in forever-ish: timeout on the whole, though every read is quick', async () => {
    const r = await probe(web.urlFor(B, '/hostile/trickle.jpg'), { totalTimeoutMs: 400, retryDelayMs: 0 });
    expect(r).toMatchObject({ status: 'timeout', attempts: 2, httpStatus: 200 });
    expect(r.bytes).toBeGreaterThan(1024);
    expect(r.bytes).toBeLessThan(20_000);
  });
  it('a DNS lookup that never answers: timeout', async () => {
    const r = await probe('http://slow-dns.example.test/a.jpg', { totalTimeoutMs: 200 }, { lookup: () => new Promise<ResolvedAddress[]>(() => {}) });
    expect(r).toMatchObject({ status: 'timeout', httpStatus: null, attempts: 2 });
  });
  it('no answer at all: timeout', async () => {
    expect(await probe(web.urlFor(B, '/hostile/stall-headers'), { totalTimeoutMs: 300 })).toMatchObject({ status: 'timeout', httpStatus: null });
  });
  it('X-Robots-Tag noai and our scoped variant opt out without downloading; another bot\'s scope is ignored', async () => {
    expect(await probe(web.urlFor(A, '/hostile/noai'))).toMatchObject({ status: 'opt-out', httpStatus: 200, bytes: 0, detail: 'X-Robots-Tag noai' });
    expect(await probe(web.urlFor(A, '/hostile/noai-scoped'))).toMatchObject({ status: 'opt-out', detail: 'X-Robots-Tag crawlswarm: noimageai' });
    expect(await probe(web.urlFor(A, '/hostile/noai-other-bot'))).toMatchObject({ status: 'ok' });
  });
  it('429: http-error, asked once; 503: retried once; 404: asked once', async () => {
    expect(await probe(web.urlFor(B, '/hostile/status/429'))).toMatchObject({ status: 'http-error', httpStatus: 429, attempts: 1 });
    expect(web.count('/hostile/status/429', B)).toBe(1);
    expect(await probe(web.urlFor(B, '/hostile/status/503'))).toMatchObject({ status: 'http-error', httpStatus: 503, attempts: 2 });
    expect(web.count('/hostile/status/503', B)).toBe(2);
    expect(await probe(web.urlFor(B, '/hostile/status/404'))).toMatchObject({ status: 'http-error', httpStatus: 404, attempts: 1 });
    expect(web.count('/hostile/status/404', B)).toBe(1);
  });
  it('truncated JPEG: decode-error with the header size', async () => {
    expect(await probe(web.urlFor(A, '/hostile/truncated.jpg'))).toMatchObject({ status: 'decode-error', width: 640, height: 427 });
  });
  it('bad URLs', async () => {
    expect(await probe('ftp://example.com/a.jpg')).toMatchObject({ status: 'bad-url' });
    expect(await probe('not a url')).toMatchObject({ status: 'bad-url' });
    expect(await probe(web.urlFor(A, `/hostile/redirect?to=${encodeURIComponent('file:///etc/passwd')}`))).toMatchObject({ status: 'bad-url' });
  });
});

describe('politeness', () => {
  for (const perHost of [2, 3]) {
    it(`never more than perHostConcurrency (${perHost}) in flight per host, while hosts run in parallel`, async () => {
      // A server of its own: maxInFlight is a high-water mark over the server's life.
      const local = await startFixtureWeb({ hosts: [{ ip: A }, { ip: B }] });
      const fetcher = createFetcher({ ...TEST_OPTIONS, totalTimeoutMs: 5000, perHostConcurrency: perHost });
      try {
        const urls = [A, B].flatMap((h) => Array.from({ length: 10 }, (_, i) => local.urlFor(h, `/images/skimage-rocket.jpg?delayMs=60&i=${i}`)));
        const t0 = performance.now();
        const results = await Promise.all(urls.map((u) => fetcher.fetchImage(u)));
        const ms = performance.now() - t0;
        expect(results.every((r) => r.status === 'ok')).toBe(true);
        expect({ a: local.maxInFlight(A), b: local.maxInFlight(B) }).toEqual({ a: perHost, b: perHost });
        // 10 requests per host, `perHost` at a time, 60 ms each: at least ceil(10 / perHost) x 60 ms, and
        // the two hosts overlap (well under twice that).
        expect(ms).toBeGreaterThan(Math.ceil(10 / perHost) * 60 - 20);
        expect(ms).toBeLessThan(2 * Math.ceil(10 / perHost) * 60 + 400);
      } finally {
        await fetcher.close();
        await local.close();
      }
    });
  }
  it('a dead host stops eating time: after 3 failures its URLs are host-skipped', async () => {
    const fetcher = createFetcher({ ...TEST_OPTIONS, hostFailureThreshold: 3 });
    // 127.0.0.4:9 has no listener: connection refused (not retried).
    const results = [];
    for (let i = 0; i < 6; i++) results.push(await fetcher.fetchImage(`http://127.0.0.4:9/img${i}.jpg`));
    await fetcher.close();
    expect(results.map((r) => r.status)).toEqual(['connect-error', 'connect-error', 'connect-error', 'host-skipped', 'host-skipped', 'host-skipped']);
    expect(results[3]).toMatchObject({ attempts: 0, detail: expect.stringContaining('3 failures on 127.0.0.4') });
  });
  it('waiting in a host queue does not count against the timeout', async () => {
    const fetcher = createFetcher({ ...TEST_OPTIONS, perHostConcurrency: 1, totalTimeoutMs: 400 });
    const urls = Array.from({ length: 4 }, (_, i) => web.urlFor(A, `/images/skimage-rocket.jpg?delayMs=150&queue=${i}`));
    const t0 = performance.now();
    const results = await Promise.all(urls.map((u) => fetcher.fetchImage(u)));
    await fetcher.close();
    expect(results.map((r) => r.status)).toEqual(['ok', 'ok', 'ok', 'ok']);
    expect(performance.now() - t0).toBeGreaterThan(4 * 150 - 20); // one at a time, longer than one budget
  });
  it('URLs queued behind a host that dies are skipped once it is marked dead', async () => {
    const fetcher = createFetcher({ ...TEST_OPTIONS, perHostConcurrency: 1, totalTimeoutMs: 150, hostFailureThreshold: 2 });
    const urls = Array.from({ length: 6 }, (_, i) => web.urlFor(B, `/hostile/stall-headers?dead=${i}`));
    const t0 = performance.now();
    const results = await Promise.all(urls.map((u) => fetcher.fetchImage(u)));
    await fetcher.close();
    // URL 0 times out (failure 1); while it pauses before its retry, URL 1 gets the host's only slot and
    // times out too (failure 2: dead). The four still queued are skipped without a request, and the two
    // that did try keep their own status rather than host-skipped.
    expect(results.map((r) => r.status)).toEqual(['timeout', 'timeout', 'host-skipped', 'host-skipped', 'host-skipped', 'host-skipped']);
    expect(web.requests.filter((q) => q.url.startsWith('/hostile/stall-headers?dead=')).map((q) => q.url)).toEqual(['/hostile/stall-headers?dead=0', '/hostile/stall-headers?dead=1']);
    expect(performance.now() - t0).toBeLessThan(1500);
  });
  it('a cancelled URL ends as aborted', async () => {
    const fetcher = createFetcher({ ...TEST_OPTIONS, totalTimeoutMs: 5000 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const r = await fetcher.fetchImage(web.urlFor(B, '/hostile/stall-headers?abort=1'), { signal: controller.signal });
    await fetcher.close();
    expect(r).toMatchObject({ status: 'aborted', attempts: 1 });
    expect(r.seconds).toBeLessThan(1);
  });
  it('the bandwidth cap slows a download to about the rate', async () => {
    const fetcher = createFetcher({ ...TEST_OPTIONS, totalTimeoutMs: 10_000, bandwidthBytesPerSecond: 400_000 });
    const r = await fetcher.fetchImage(web.urlFor(A, '/images/coco-val2017-000000039769.png'));
    await fetcher.close();
    expect(r.status).toBe('ok');
    // 694,498 bytes with a 400,000-byte burst: at least (694,498 - 400,000) / 400,000 = 0.74 s.
    expect(r.seconds).toBeGreaterThan(0.7);
    expect(r.seconds).toBeLessThan(3);
  });
});
